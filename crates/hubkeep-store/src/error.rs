//! The one error type of the object store, worded for an operator.

/// Why an object-store operation failed. Never contains credentials.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {name} does not exist in {location}")]
    NotFound { location: String, name: String },

    #[error("object name {name:?} is not valid: {reason}; names are relative '/'-separated keys")]
    InvalidName { name: String, reason: String },

    #[error("store location {location:?} is not valid: {reason}")]
    InvalidLocation { location: String, reason: String },

    #[error("cannot {op} object {name} in {location}: {source}; check that the directory exists, is writable and the disk is not full")]
    Io {
        op: &'static str,
        location: String,
        name: String,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot reach S3 endpoint {endpoint} for {location}: {detail} (hubkeep gives a connection 5 s, a request 120 s, retries with backoff 20 s and a whole operation 300 s, then stops); is the server running and the endpoint (AWS_ENDPOINT_URL) right?")]
    Unreachable {
        location: String,
        endpoint: String,
        detail: String,
    },

    #[error("S3 rejected the credentials for {location}: {detail}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")]
    CredentialsRejected { location: String, detail: String },

    #[error("S3 bucket {bucket} does not exist at {location}; create it first")]
    BucketMissing { location: String, bucket: String },

    #[error("the uploads to {location} stopped: {detail}")]
    Uploads { location: String, detail: String },

    #[error("cannot {op} object {name} in {location}: {detail}")]
    Backend {
        op: &'static str,
        location: String,
        name: String,
        detail: String,
    },
}
