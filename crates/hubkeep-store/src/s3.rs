//! The S3 backend: `object_store`'s AmazonS3 client driven from synchronous code.
//!
//! Requests run on a small tokio runtime owned by the store; callers block on a
//! channel, so the store works from any thread, including threads of another
//! runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as S3Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore as _, PutMode, PutOptions, PutPayload, RetryConfig,
};

use crate::{validate_name, ObjectMeta, ObjectStore, StoreError};

/// Endpoint, region and credentials for S3 locations.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// Custom endpoint such as `http://127.0.0.1:8333`; `None` means AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
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
            // These bounds are quoted in `StoreError::Unreachable`: keep them in step.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 4,
                retry_timeout: Duration::from_secs(20),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(settings.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
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

    /// Runs `fut` on the store's runtime and waits for it from this (synchronous) thread.
    fn run<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime
            .as_ref()
            .expect("runtime lives until drop")
            .spawn(async move {
                let _ = tx.send(fut.await);
            });
        rx.recv().expect("the S3 runtime outlives its requests")
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

    fn error(&self, op: &'static str, name: &str, err: object_store::Error) -> StoreError {
        let location = self.location();
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
        let key = self.key(name)?;
        let client = self.client.clone();
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(data));
        self.run(async move { client.put(&key, payload).await })
            .map(|_| ())
            .map_err(|e| self.error("write", name, e))
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
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
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
            .run(async move { client.get_range(&key, offset..offset + len).await })
            .map_err(|e| self.error("read a range of", name, e))?;
        if data.len() as u64 != len {
            return Err(StoreError::Backend {
                op: "read a range of",
                location: self.location(),
                name: name.to_string(),
                detail: format!("asked for {len} bytes at offset {offset} but got {}; the object is shorter than expected", data.len()),
            });
        }
        Ok(data.to_vec())
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
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", name, e)),
        }
    }
}
