//! The S3 backend: `object_store`'s AmazonS3 client driven from synchronous code.
//!
//! Requests run on a small tokio runtime owned by the store; callers block on a
//! channel, so the store works from any thread, including threads of another
//! runtime.
//!
//! Large objects move in pieces: a write of [`MULTIPART_THRESHOLD`] bytes or
//! more is a multipart upload whose parts go up [`PART_CONCURRENCY`] at a
//! time (the object appears only when the upload completes, so a killed
//! upload leaves nothing visible), and a ranged read longer than
//! [`RANGE_PIECE`] is fetched as several ranges in parallel, each streamed
//! into its place in the one buffer returned. Throttling (429, 503), other
//! 5xx answers and timeouts are retried with exponential backoff by
//! `object_store`; every operation as a whole is bounded by
//! [`OPERATION_LIMIT`], so a server that stops answering is an error, never a
//! hang.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as S3Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, ObjectStore as _, PutMode, PutOptions, PutPayload,
    RetryConfig,
};

use crate::{validate_name, ObjectMeta, ObjectStore, StoreError};

/// Writes of at least this many bytes are multipart uploads (a 16 MiB pack is).
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;
/// The size of each part but the last: S3's minimum part size.
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of one object in flight at once.
pub const PART_CONCURRENCY: usize = 4;
/// Ranged reads longer than this are split into pieces of this size, fetched
/// in parallel.
pub const RANGE_PIECE: u64 = 4 * 1024 * 1024;
/// Objects [`crate::Uploads`] writes at once to S3 (each also sends
/// [`PART_CONCURRENCY`] parts at once).
pub const PARALLEL_WRITES: usize = 3;
/// The most one operation (with its retries and parts) may take in all.
pub const OPERATION_LIMIT: Duration = Duration::from_secs(300);
// `StoreError::Unreachable` quotes these bounds: keep them in step.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_RETRIES: usize = 6;

/// Why an operation on the runtime did not succeed.
enum Failure {
    /// The backend answered with an error (after its retries).
    Backend(object_store::Error),
    /// No complete answer within [`OPERATION_LIMIT`].
    OutOfTime,
}

/// Endpoint, region and credentials for S3 locations.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// Custom endpoint such as `http://127.0.0.1:8333`; `None` means AWS.
    pub endpoint: Option<String>,
    /// The S3 region (`AWS_REGION`); SeaweedFS and MinIO take any.
    pub region: String,
    /// The access key id (`AWS_ACCESS_KEY_ID`); `None` for anonymous access.
    pub access_key_id: Option<String>,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY`); never logged.
    pub secret_access_key: Option<String>,
    /// Allow plain-HTTP endpoints.
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "(set)"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(set)"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl S3Settings {
    /// Reads `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`), `AWS_REGION` / `AWS_DEFAULT_REGION`
    /// (default `us-east-1`), `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = var("AWS_ENDPOINT_URL").or_else(|| var("AWS_ENDPOINT"));
        let allow_http = endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        S3Settings {
            endpoint,
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            allow_http,
        }
    }
}

/// Objects in an S3 bucket under a key prefix.
pub struct S3Store {
    client: Arc<AmazonS3>,
    runtime: Option<tokio::runtime::Runtime>,
    bucket: String,
    prefix: String,
    endpoint: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl S3Store {
    /// Parses `s3://bucket/prefix` and builds a client; contacts nothing yet.
    pub fn open(location: &str, settings: &S3Settings) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidLocation {
            location: location.to_string(),
            reason: reason.into(),
        };
        let rest = location
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("it names no bucket; write s3://bucket/prefix"));
        }
        let prefix = prefix.trim_end_matches('/').to_string();
        if !prefix.is_empty() {
            validate_name(&prefix)
                .map_err(|_| invalid("the prefix has an empty, '.' or '..' component"))?;
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(settings.allow_http)
            // Backoff starts at 100 ms and doubles up to 15 s.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: MAX_RETRIES,
                retry_timeout: RETRY_TIMEOUT,
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(settings.allow_http)
                    .with_connect_timeout(CONNECT_TIMEOUT)
                    .with_timeout(REQUEST_TIMEOUT),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let client = builder
            .build()
            .map_err(|e| invalid(&format!("cannot configure the S3 client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hubkeep-s3")
            .enable_all()
            .build()
            .map_err(|e| invalid(&format!("cannot start the S3 client's runtime: {e}")))?;
        Ok(S3Store {
            client: Arc::new(client),
            runtime: Some(runtime),
            bucket: bucket.to_string(),
            prefix,
            endpoint: settings
                .endpoint
                .clone()
                .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", settings.region)),
        })
    }

    fn key(&self, name: &str) -> Result<S3Path, StoreError> {
        validate_name(name)?;
        Ok(if self.prefix.is_empty() {
            S3Path::from(name)
        } else {
            S3Path::from(format!("{}/{name}", self.prefix))
        })
    }

    /// Runs `fut` on the store's runtime, bounded by [`OPERATION_LIMIT`], and
    /// waits for it from this (synchronous) thread.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<T, Failure> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime
            .as_ref()
            .expect("runtime lives until drop")
            .spawn(async move {
                let result = match tokio::time::timeout(OPERATION_LIMIT, fut).await {
                    Ok(answer) => answer.map_err(Failure::Backend),
                    Err(_) => Err(Failure::OutOfTime),
                };
                let _ = tx.send(result);
            });
        rx.recv().expect("the S3 runtime outlives its requests")
    }

    /// Writes `data` in one request, or as a multipart upload when it is large.
    fn put_bytes(&self, name: &str, data: bytes::Bytes) -> Result<(), StoreError> {
        let key = self.key(name)?;
        let client = self.client.clone();
        if data.len() < MULTIPART_THRESHOLD {
            return self
                .run(async move { client.put(&key, data.into()).await.map(|_| ()) })
                .map_err(|e| self.error("write", name, e));
        }
        self.run(async move {
            let mut upload = client.put_multipart(&key).await?;
            // Part numbers are fixed when a part is created; the requests
            // themselves start only when polled, PART_CONCURRENCY at a time.
            let parts: Vec<_> = (0..data.len())
                .step_by(PART_SIZE)
                .map(|start| {
                    let end = (start + PART_SIZE).min(data.len());
                    upload.put_part(data.slice(start..end).into())
                })
                .collect();
            let sent = futures::stream::iter(parts)
                .buffer_unordered(PART_CONCURRENCY)
                .try_collect::<Vec<()>>()
                .await;
            match sent {
                Ok(_) => upload.complete().await.map(|_| ()),
                Err(e) => {
                    // Best effort: the parts are invisible either way, this
                    // only frees the server's space sooner.
                    let _ = upload.abort().await;
                    Err(e)
                }
            }
        })
        .map_err(|e| self.error("write", name, e))
    }

    /// Every object under `base`, named relative to the store's prefix,
    /// that `keep` accepts; `what` names the listing in errors.
    fn list_under(
        &self,
        base: Option<S3Path>,
        what: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        let client = self.client.clone();
        let listed = self
            .run(async move { client.list(base.as_ref()).try_collect::<Vec<_>>().await })
            .map_err(|e| self.error("list", what, e))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        Ok(listed
            .into_iter()
            .filter_map(|m| {
                let name = m
                    .location
                    .as_ref()
                    .strip_prefix(strip.as_str())?
                    .to_string();
                keep(&name).then(|| ObjectMeta {
                    name,
                    size: m.size,
                    modified: m.last_modified.into(),
                })
            })
            .collect())
    }

    fn error(&self, op: &'static str, name: &str, failure: Failure) -> StoreError {
        let location = self.location();
        let err = match failure {
            Failure::Backend(err) => err,
            Failure::OutOfTime => {
                return StoreError::Unreachable {
                    location,
                    endpoint: self.endpoint.clone(),
                    detail: format!(
                        "no complete answer to {op} {name} within {} s",
                        OPERATION_LIMIT.as_secs()
                    ),
                }
            }
        };
        if let object_store::Error::NotFound { .. } = err {
            return StoreError::NotFound {
                location,
                name: name.to_string(),
            };
        }
        let detail = error_chain(&err);
        let lower = detail.to_ascii_lowercase();
        if matches!(
            err,
            object_store::Error::Unauthenticated { .. }
                | object_store::Error::PermissionDenied { .. }
        ) || [
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "accessdenied",
            "403 forbidden",
        ]
        .iter()
        .any(|s| lower.contains(s))
        {
            StoreError::CredentialsRejected {
                location,
                detail: first_line(&detail),
            }
        } else if lower.contains("nosuchbucket") {
            StoreError::BucketMissing {
                location,
                bucket: self.bucket.clone(),
            }
        } else if [
            "error sending request",
            "connection refused",
            "tcp connect",
            "dns error",
            "timed out",
        ]
        .iter()
        .any(|s| lower.contains(s))
        {
            StoreError::Unreachable {
                location,
                endpoint: self.endpoint.clone(),
                detail: first_line(&detail),
            }
        } else {
            StoreError::Backend {
                op,
                location,
                name: name.to_string(),
                detail: first_line(&detail),
            }
        }
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime panics; shutting it down in the
        // background is safe from any thread.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Reads `piece.len()` bytes at `start` into `piece` as they arrive; returns
/// how many came (fewer when the object is shorter).
async fn read_into(
    client: &AmazonS3,
    key: &S3Path,
    start: u64,
    piece: &mut [u8],
) -> Result<usize, object_store::Error> {
    let options = GetOptions {
        range: Some((start..start + piece.len() as u64).into()),
        ..Default::default()
    };
    let mut body = client.get_opts(key, options).await?.into_stream();
    let mut at = 0;
    while let Some(bytes) = body.try_next().await? {
        let n = bytes.len().min(piece.len() - at);
        piece[at..at + n].copy_from_slice(&bytes[..n]);
        at += bytes.len();
    }
    Ok(at)
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(400).collect()
}

impl ObjectStore for S3Store {
    fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        self.put_bytes(name, bytes::Bytes::copy_from_slice(data))
    }

    fn put_vec(&self, name: &str, data: Vec<u8>) -> Result<(), StoreError> {
        self.put_bytes(name, bytes::Bytes::from(data))
    }

    fn parallel_writes(&self) -> usize {
        PARALLEL_WRITES
    }

    fn put_if_absent(&self, name: &str, data: &[u8]) -> Result<bool, StoreError> {
        let key = self.key(name)?;
        let client = self.client.clone();
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(data));
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self.run(async move { client.put_opts(&key, payload, opts).await }) {
            Ok(_) => Ok(true),
            Err(Failure::Backend(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            )) => Ok(false),
            Err(e) => Err(self.error("write", name, e)),
        }
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let key = self.key(name)?;
        let client = self.client.clone();
        self.run(async move { client.get(&key).await?.bytes().await })
            .map(|b| b.to_vec())
            .map_err(|e| self.error("read", name, e))
    }

    fn get_range(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let key = self.key(name)?;
        let client = self.client.clone();
        let data = self
            .run(async move {
                // Each piece streams straight into its place in one buffer:
                // no second copy of the range is ever held.
                let mut out = vec![0u8; len as usize];
                let starts = (offset..offset + len).step_by(RANGE_PIECE as usize);
                // Boxed up front: a lazy `map` here trips the compiler's
                // `Send` check on the borrowed pieces.
                let reads: Vec<futures::future::BoxFuture<'_, _>> = out
                    .chunks_mut(RANGE_PIECE as usize)
                    .zip(starts)
                    .map(|(piece, start)| read_into(&client, &key, start, piece).boxed())
                    .collect();
                let got: Vec<usize> = futures::stream::iter(reads)
                    .buffer_unordered(PART_CONCURRENCY)
                    .try_collect()
                    .await?;
                let got: usize = got.iter().sum();
                out.truncate(got.min(out.len()));
                Ok(out)
            })
            .map_err(|e| self.error("read a range of", name, e))?;
        if data.len() as u64 != len {
            return Err(StoreError::Backend {
                op: "read a range of",
                location: self.location(),
                name: name.to_string(),
                detail: format!("asked for {len} bytes at offset {offset} but got {}; the object is shorter than expected", data.len()),
            });
        }
        Ok(data)
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // object_store lists by whole path segments; list the directory part and filter.
        let dir_part = prefix.rfind('/').map(|i| &prefix[..i]).unwrap_or("");
        let base = match (self.prefix.is_empty(), dir_part.is_empty()) {
            (true, true) => None,
            (true, false) => Some(S3Path::from(dir_part)),
            (false, true) => Some(S3Path::from(self.prefix.as_str())),
            (false, false) => Some(S3Path::from(format!("{}/{dir_part}", self.prefix))),
        };
        let mut out = self.list_under(base, prefix, |name| {
            name.starts_with(prefix) && !crate::is_temp(name)
        })?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn list_temp(&self) -> Result<Vec<ObjectMeta>, StoreError> {
        let base = (!self.prefix.is_empty()).then(|| S3Path::from(self.prefix.as_str()));
        self.list_under(base, "(temp objects)", crate::is_temp)
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        let key = self.key(name)?;
        let client = self.client.clone();
        match self.run(async move { client.delete(&key).await }) {
            Ok(()) | Err(Failure::Backend(object_store::Error::NotFound { .. })) => Ok(()),
            Err(e) => Err(self.error("delete", name, e)),
        }
    }
}
