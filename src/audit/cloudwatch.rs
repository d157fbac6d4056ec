//! CloudWatch Logs as the shipper's sink (PutLogEvents into a stream per replica) and as a
//! source for `audit verify --cloudwatch GROUP/STREAM` (GetLogEvents from the head).

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::create_log_stream::CreateLogStreamError;
use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

use super::ship::{Accepted, Event, Sink, SinkError};
use crate::aws::aws_error;

/// A log group of CloudWatch Logs.
#[derive(Debug, Clone)]
pub struct CloudWatchSink {
    client: Client,
    group: String,
}

impl CloudWatchSink {
    pub fn new(client: Client, group: &str) -> CloudWatchSink {
        CloudWatchSink {
            client,
            group: group.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl Sink for CloudWatchSink {
    async fn create_stream(&self, stream: &str) -> Result<(), SinkError> {
        match self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(CreateLogStreamError::ResourceAlreadyExistsException(_)) => Ok(()),
                Some(CreateLogStreamError::ResourceNotFoundException(_)) => {
                    Err(SinkError::GroupMissing(self.group.clone()))
                }
                _ => Err(SinkError::Failed(
                    aws_error("CreateLogStream", e).to_string(),
                )),
            },
        }
    }

    async fn put(&self, stream: &str, events: &[Event]) -> Result<Accepted, SinkError> {
        let events = events
            .iter()
            .map(|e| {
                InputLogEvent::builder()
                    .timestamp(e.timestamp)
                    .message(e.message.clone())
                    .build()
                    .map_err(|b| SinkError::Failed(b.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n = events.len();
        let out = self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(PutLogEventsError::ResourceNotFoundException(_)) => SinkError::StreamMissing,
                _ => SinkError::Failed(aws_error("PutLogEvents", e).to_string()),
            })?;
        Ok(Accepted {
            rejected: out.rejected_log_events_info().map_or(0, |r| rejected(r, n)),
        })
    }
}

/// How many events of a batch of `n` CloudWatch did not store.
fn rejected(info: &aws_sdk_cloudwatchlogs::types::RejectedLogEventsInfo, n: usize) -> u64 {
    let n = n as i64;
    // Events before the end index are too old or expired; from the start index, too new.
    let old = info
        .too_old_log_event_end_index()
        .max(info.expired_log_event_end_index())
        .map_or(0, |end| i64::from(end) + 1);
    let new = info
        .too_new_log_event_start_index()
        .map_or(0, |start| n - i64::from(start));
    u64::try_from((old + new).clamp(0, n)).unwrap_or(0)
}

/// Every event of a stream, oldest first (`GROUP/STREAM`: the stream is after the last `/`).
pub async fn read_stream(
    client: &Client,
    group: &str,
    stream: &str,
) -> Result<Vec<String>, SinkError> {
    let mut lines = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| SinkError::Failed(aws_error("GetLogEvents", e).to_string()))?;
        lines.extend(
            out.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_string)),
        );
        // The last page answers with the token it was asked with.
        let next = out.next_forward_token().map(str::to_string);
        if next.is_none() || next == token || out.events().is_empty() {
            return Ok(lines);
        }
        token = next;
    }
}

/// `GROUP/STREAM` split at the last `/` (group names may hold `/`, stream names of this server
/// never do).
pub fn split_group_stream(text: &str) -> Option<(&str, &str)> {
    let (group, stream) = text.rsplit_once('/')?;
    (!group.is_empty() && !stream.is_empty()).then_some((group, stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_counts_both_ends() {
        use aws_sdk_cloudwatchlogs::types::RejectedLogEventsInfo as R;
        assert_eq!(rejected(&R::builder().build(), 10), 0);
        assert_eq!(
            rejected(&R::builder().too_old_log_event_end_index(2).build(), 10),
            3
        );
        assert_eq!(
            rejected(&R::builder().too_new_log_event_start_index(8).build(), 10),
            2
        );
        assert_eq!(
            rejected(
                &R::builder()
                    .too_old_log_event_end_index(1)
                    .expired_log_event_end_index(3)
                    .too_new_log_event_start_index(9)
                    .build(),
                10
            ),
            5
        );
    }

    #[test]
    fn group_and_stream() {
        assert_eq!(
            split_group_stream("/guarded/audit/host-1.20261203T124500Z"),
            Some(("/guarded/audit", "host-1.20261203T124500Z"))
        );
        assert_eq!(split_group_stream("nogroup"), None);
        assert_eq!(split_group_stream("group/"), None);
    }
}
