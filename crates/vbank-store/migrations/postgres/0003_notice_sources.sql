-- Where a channel's PG notifications may come from: address ranges joined by commas;
-- empty means any address.
ALTER TABLE channels ADD COLUMN notice_sources TEXT NOT NULL DEFAULT '';
