//! The one error type of the object store, worded for an operator.

/// Why an object-store operation failed. Never contains credentials.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object is not in the store.
    #[error("object {name} does not exist in {location}")]
    NotFound {
        /// The store location (directory or `s3://` URL).
        location: String,
        /// The object name.
        name: String,
    },

    /// An object name the store refuses.
    #[error("object name {name:?} is not valid: {reason}; names are relative '/'-separated keys")]
    InvalidName {
        /// The object name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A store location that is neither a directory nor an S3 URL hubkeep can use.
    #[error("store location {location:?} is not valid: {reason}")]
    InvalidLocation {
        /// The store location (directory or `s3://` URL).
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A local-directory operation failed.
    #[error("cannot {op} object {name} in {location}: {source}; check that the directory exists, is writable and the disk is not full")]
    Io {
        /// The operation that failed (`read`, `write`, …).
        op: &'static str,
        /// The store location (directory or `s3://` URL).
        location: String,
        /// The object name.
        name: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The S3 endpoint did not answer within hubkeep's limits.
    #[error("cannot reach S3 endpoint {endpoint} for {location}: {detail} (hubkeep gives a connection 5 s, a request 120 s, retries with backoff 20 s and a whole operation 300 s, then stops); is the server running and the endpoint (AWS_ENDPOINT_URL) right?")]
    Unreachable {
        /// The store location (directory or `s3://` URL).
        location: String,
        /// The endpoint tried.
        endpoint: String,
        /// What the server or client said.
        detail: String,
    },

    /// The S3 server refused the credentials.
    #[error("S3 rejected the credentials for {location}: {detail}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")]
    CredentialsRejected {
        /// The store location (directory or `s3://` URL).
        location: String,
        /// What the server or client said.
        detail: String,
    },

    /// The S3 bucket does not exist.
    #[error("S3 bucket {bucket} does not exist at {location}; create it first")]
    BucketMissing {
        /// The store location (directory or `s3://` URL).
        location: String,
        /// The bucket named by the location.
        bucket: String,
    },

    /// A background multipart upload stopped.
    #[error("the uploads to {location} stopped: {detail}")]
    Uploads {
        /// The store location (directory or `s3://` URL).
        location: String,
        /// What the server or client said.
        detail: String,
    },

    /// Any other failure the storage backend reported.
    #[error("cannot {op} object {name} in {location}: {detail}")]
    Backend {
        /// The operation that failed (`read`, `write`, …).
        op: &'static str,
        /// The store location (directory or `s3://` URL).
        location: String,
        /// The object name.
        name: String,
        /// What the server or client said.
        detail: String,
    },
}
