//! Query strings as i'mport clients send them: repeated keys, with or without `[]`.

/// All values of `name` and `name[]`, in order.
pub fn values(raw_query: Option<&str>, name: &str) -> Vec<String> {
    let list_name = format!("{name}[]");
    form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == name || *key == list_name)
        .map(|(_, value)| value.into_owned())
        .collect()
}

/// The first non-empty value of `name`.
pub fn first(raw_query: Option<&str>, name: &str) -> Option<String> {
    values(raw_query, name).into_iter().find(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_brackets_are_list_keys() {
        let query = Some("imp_uid%5B%5D=a&imp_uid%5B%5D=b&merchant_uid[]=m&other=x");
        assert_eq!(values(query, "imp_uid"), vec!["a", "b"]);
        assert_eq!(values(query, "merchant_uid"), vec!["m"]);
        assert_eq!(first(query, "other").as_deref(), Some("x"));
        assert_eq!(first(None, "other"), None);
    }
}
