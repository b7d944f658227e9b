//! Background jobs: the reconciler and the webhook dispatcher. Each runs a loop that
//! does one bounded pass at a time and stops when the server shuts down.

pub mod reconciler;
pub mod webhooks;

use std::time::Duration;
use tokio::sync::watch;

/// Sleeps `period` unless the server is stopping; `false` means stop.
pub(crate) async fn pause(period: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(period) => true,
        _ = stop.changed() => false,
    }
}
