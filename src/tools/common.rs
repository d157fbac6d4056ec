//! Pieces shared by the tool families: argument rules and output conversions.

use std::collections::HashMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::error::ArgError;

/// Regex of AWS region names (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub const REGION_PATTERN: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$";

/// A timestamp as ISO 8601 text.
pub fn ts(d: Option<&DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
}

/// AWS tag rules: keys 1–128 characters and not starting with `aws:`, values at most 256.
pub fn check_tags(field: &str, tags: &HashMap<String, String>) -> Result<(), ArgError> {
    if tags.len() > 50 {
        return Err(ArgError::rule(
            field,
            format!("{} tags given; at most 50 are allowed", tags.len()),
        ));
    }
    for (k, v) in tags {
        let n = k.chars().count();
        if n == 0 || n > 128 {
            return Err(ArgError::rule(
                format!("{field}.{k}"),
                format!("tag key is {n} characters long; it must be 1 to 128"),
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(ArgError::rule(
                format!("{field}.{k}"),
                "tag keys starting with `aws:` are reserved by AWS",
            ));
        }
        if v.chars().count() > 256 {
            return Err(ArgError::rule(
                format!("{field}.{k}"),
                format!(
                    "tag value is {} characters long; at most 256 are allowed",
                    v.chars().count()
                ),
            ));
        }
    }
    Ok(())
}
