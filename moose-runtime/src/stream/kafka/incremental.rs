//! `IncrementalAlterConfigs` (KIP-339): sets one topic setting and leaves the others alone.
//!
//! rust-rdkafka 0.39 wraps only the older `AlterConfigs`, which replaces a topic's whole
//! configuration, is deprecated since Kafka 2.3 and is not served by every Kafka-compatible
//! broker. librdkafka has the incremental call
//! (`rd_kafka_IncrementalAlterConfigs`, 2.2+); this is the thin, blocking binding to it, on the
//! admin client's own handle and a private reply queue.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::admin::AdminClient;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka_sys as sys;

/// Why the change was not made.
#[derive(Debug)]
pub(super) struct AlterFailure {
    /// The error code, from the request or the topic's own result.
    pub code: RDKafkaErrorCode,
    /// librdkafka's or the broker's text.
    pub message: String,
}

/// Owns a librdkafka object and destroys it when dropped.
struct Owned<T>(*mut T, unsafe extern "C" fn(*mut T));

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: created by the matching librdkafka constructor and destroyed only here.
            unsafe { (self.1)(self.0) }
        }
    }
}

/// Sets `key = value` on topic `topic`, waiting up to `timeout` for the broker's answer.
/// Blocks: call it off the async threads.
pub(super) fn set_topic_config<C: ClientContext>(
    admin: &AdminClient<C>,
    topic: &str,
    key: &str,
    value: &str,
    timeout: Duration,
) -> Result<(), AlterFailure> {
    let failure = |code: RDKafkaErrorCode, message: String| AlterFailure { code, message };
    let text = |s: &str| {
        CString::new(s).map_err(|_| {
            failure(
                RDKafkaErrorCode::InvalidArgument,
                format!("`{s}` contains a NUL byte"),
            )
        })
    };
    let (topic_c, key_c, value_c) = (text(topic)?, text(key)?, text(value)?);
    let timeout_ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
    // Lives as long as `admin`, which the caller holds for the whole call.
    let client = admin.inner().native_ptr();

    // SAFETY: every pointer below comes from librdkafka's constructors and is checked for
    // null, owned by an `Owned` (or, for results, by the event that holds them) and used only
    // while its owner lives; the strings outlive the calls that read them.
    unsafe {
        let resource = Owned(
            sys::rd_kafka_ConfigResource_new(
                sys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                topic_c.as_ptr(),
            ),
            sys::rd_kafka_ConfigResource_destroy,
        );
        if resource.0.is_null() {
            return Err(failure(
                RDKafkaErrorCode::InvalidArgument,
                "librdkafka refused the topic name".into(),
            ));
        }
        let error = sys::rd_kafka_ConfigResource_add_incremental_config(
            resource.0,
            key_c.as_ptr(),
            sys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
            value_c.as_ptr(),
        );
        if !error.is_null() {
            let error = Owned(error, sys::rd_kafka_error_destroy);
            return Err(failure(
                sys::rd_kafka_error_code(error.0).into(),
                CStr::from_ptr(sys::rd_kafka_error_string(error.0))
                    .to_string_lossy()
                    .into_owned(),
            ));
        }
        let options = Owned(
            sys::rd_kafka_AdminOptions_new(
                client,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
            ),
            sys::rd_kafka_AdminOptions_destroy,
        );
        let mut errstr = [0 as std::os::raw::c_char; 256];
        sys::rd_kafka_AdminOptions_set_request_timeout(
            options.0,
            timeout_ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        let queue = Owned(sys::rd_kafka_queue_new(client), sys::rd_kafka_queue_destroy);
        let mut resources = [resource.0];
        sys::rd_kafka_IncrementalAlterConfigs(
            client,
            resources.as_mut_ptr(),
            resources.len(),
            options.0,
            queue.0,
        );
        // The request times out on its own after `timeout`; a little longer here so its
        // answer (even a timeout) is what we report.
        let event = Owned(
            sys::rd_kafka_queue_poll(queue.0, timeout_ms.saturating_add(5_000)),
            sys::rd_kafka_event_destroy,
        );
        if event.0.is_null() {
            return Err(failure(
                RDKafkaErrorCode::RequestTimedOut,
                "no answer from the brokers".into(),
            ));
        }
        let code: RDKafkaErrorCode = sys::rd_kafka_event_error(event.0).into();
        if code != RDKafkaErrorCode::NoError {
            let message = sys::rd_kafka_event_error_string(event.0);
            let message = if message.is_null() {
                code.to_string()
            } else {
                CStr::from_ptr(message).to_string_lossy().into_owned()
            };
            return Err(failure(code, message));
        }
        let result = sys::rd_kafka_event_IncrementalAlterConfigs_result(event.0);
        if result.is_null() {
            return Err(failure(
                RDKafkaErrorCode::Fail,
                "librdkafka answered with an unexpected event".into(),
            ));
        }
        let mut count = 0usize;
        let list = sys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count);
        for i in 0..count {
            let answered = *list.add(i);
            let code: RDKafkaErrorCode = sys::rd_kafka_ConfigResource_error(answered).into();
            if code != RDKafkaErrorCode::NoError {
                let message = sys::rd_kafka_ConfigResource_error_string(answered);
                let message = if message.is_null() {
                    code.to_string()
                } else {
                    CStr::from_ptr(message).to_string_lossy().into_owned()
                };
                return Err(failure(code, message));
            }
        }
        Ok(())
    }
}
