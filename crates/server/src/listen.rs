//! Serving the router on a TCP socket with the limits `axum::serve` lacks.
//!
//! `axum::serve` sets no hyper timer, so a client sending a byte a second
//! held its connection forever, and it has no connection cap: 1,100 such
//! clients used up the process's descriptors and the store could no longer
//! open its files. This accept loop adds:
//! - a cap on open connections. Past it, a small overflow lane still takes
//!   connections, but serves each one request under a one-second header
//!   deadline and closes it: a health check (which sends its request at
//!   once) gets through while slow clients fill the main lane, and a slow
//!   client in the overflow lane is gone within a second. Past both, new
//!   connections wait in the kernel's backlog;
//! - hyper's header-read timeout, and an idle timeout of our own (no byte
//!   either way for that long closes the connection; hyper has none);
//! - TLS with rustls when a certificate is configured, the handshake under
//!   the header deadline;
//! - HTTP/2 beside HTTP/1.1 (prior knowledge, or ALPN over TLS), at most
//!   100 streams a connection and the same header-block bound;
//! - on shutdown, requests in flight get a grace period, then every
//!   connection still open is dropped: shutdown never waits on a client.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::metrics::{HTTP_CONNECTIONS, HTTP_CONNECTIONS_CLOSED, HTTP_CONNECTIONS_OPEN};

/// Connections the overflow lane holds at once.
const OVERFLOW_CONNECTIONS: usize = 64;
/// The header deadline in the overflow lane.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// hyper's read buffer, which bounds a request's header block.
const MAX_HEADER_BUFFER: usize = 64 * 1024;
/// Requests in flight on one HTTP/2 connection.
const MAX_STREAMS: u32 = 100;

/// How the listener treats its clients.
#[derive(Clone)]
pub struct ListenOptions {
    /// Open connections in the main lane.
    pub max_connections: usize,
    /// A request's whole header block must arrive within this.
    pub header_timeout: Duration,
    /// No byte either way for this long closes a connection.
    pub idle_timeout: Duration,
    /// On shutdown, how long requests in flight may take to finish.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate file {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("cannot read the private key file {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A rustls server configuration from PEM files (a chain, then a key).
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let cert_error = |reason: String| TlsError::Certificate { path: cert.display().to_string(), reason };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_error("no PEM certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.display().to_string(), reason: e.to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A connection's place: which lane, and the permit that holds it open
/// until the connection is dropped.
struct Lane {
    overflow: bool,
    _permit: OwnedSemaphorePermit,
}

/// Serves `app` until `shutdown` completes, then drains within the grace
/// period and drops whatever is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ListenOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let main = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let acceptor = options.tls.clone().map(TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_accept_error: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let lane = tokio::select! {
            () = &mut shutdown => break,
            lane = take_lane(&main, &overflow) => lane,
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of descriptors (or a client gone before accept): back off
                    // instead of spinning, and say so at most once a second.
                    if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                        tracing::warn!(%error, "Cannot accept a connection.");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let lane_name = if lane.overflow { "overflow" } else { "main" };
        metrics::counter!(HTTP_CONNECTIONS, "lane" => lane_name).increment(1);
        let connection = Connection {
            app: app.clone(),
            remote,
            options: options.clone(),
            acceptor: acceptor.clone(),
            stop: stop_rx.clone(),
        };
        connections.spawn(connection.run(stream, lane));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = tokio::time::sleep(options.shutdown_grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => {
                if !connections.is_empty() {
                    tracing::warn!(open = connections.len(), "Closing connections still open after the shutdown grace period.");
                }
                connections.abort_all();
                while connections.join_next().await.is_some() {}
                break;
            }
            next = connections.join_next() => if next.is_none() { break },
        }
    }
    Ok(())
}

/// A main-lane slot if one is free, else an overflow slot if one is free,
/// else whichever frees first.
async fn take_lane(main: &Arc<Semaphore>, overflow: &Arc<Semaphore>) -> Lane {
    if let Ok(permit) = main.clone().try_acquire_owned() {
        return Lane { overflow: false, _permit: permit };
    }
    if let Ok(permit) = overflow.clone().try_acquire_owned() {
        return Lane { overflow: true, _permit: permit };
    }
    // Neither semaphore is ever closed, so acquiring only fails if it were.
    tokio::select! {
        Ok(permit) = main.clone().acquire_owned() => Lane { overflow: false, _permit: permit },
        Ok(permit) = overflow.clone().acquire_owned() => Lane { overflow: true, _permit: permit },
    }
}

struct Connection {
    app: Router,
    remote: SocketAddr,
    options: ListenOptions,
    acceptor: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, lane: Lane) {
        metrics::gauge!(HTTP_CONNECTIONS_OPEN).increment(1.0);
        let _ = stream.set_nodelay(true);
        let overflow = lane.overflow;
        let header_timeout = if overflow {
            OVERFLOW_HEADER_TIMEOUT.min(self.options.header_timeout)
        } else {
            self.options.header_timeout
        };
        let reason = match self.acceptor.clone() {
            None => self.serve_io(stream, header_timeout, overflow).await,
            Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => self.serve_io(tls, header_timeout, overflow).await,
                Ok(Err(_)) => "tls_error",
                Err(_) => "tls_timeout",
            },
        };
        metrics::counter!(HTTP_CONNECTIONS_CLOSED, "reason" => reason).increment(1);
        metrics::gauge!(HTTP_CONNECTIONS_OPEN).decrement(1.0);
        drop(lane);
    }

    /// Serves one connection; returns why it ended.
    async fn serve_io<IO>(mut self, io: IO, header_timeout: Duration, overflow: bool) -> &'static str
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = Watched::new(io);
        let activity = io.activity.clone();
        let (app, remote) = (self.app.clone(), self.remote);
        // hyper's header timeout starts once the protocol is known; the
        // bytes that tell HTTP/2's preface from an HTTP/1 request line come
        // before it, so the first request's whole head is timed here too.
        let first_request = Arc::new(AtomicBool::new(false));
        let arrived = first_request.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            arrived.store(true, Ordering::Relaxed);
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(request)
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(!overflow)
            .max_buf_size(MAX_HEADER_BUFFER);
        // HTTP/2 (prior knowledge in clear, or ALPN `h2`): streams per
        // connection are capped as connections are, the header block is
        // bounded like HTTP/1's, and hyper's own reset-flood limits stay on.
        // No keep-alive pings: they would count as activity, and an idle
        // connection must still reach the idle timeout.
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS)
            .max_header_list_size(MAX_HEADER_BUFFER as u32);
        // The overflow lane serves one request and closes: HTTP/1.1 only.
        let builder = if overflow { builder.http1_only() } else { builder };
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut stopping = *self.stop.borrow();
        if stopping {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                result = connection.as_mut() => return if result.is_ok() { "done" } else { "error" },
                changed = self.stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
                _ = tick.tick() => {
                    if activity.idle_for() > self.options.idle_timeout {
                        return "idle";
                    }
                    if !first_request.load(Ordering::Relaxed) && activity.opened.elapsed() > header_timeout {
                        return "header_timeout";
                    }
                }
            }
        }
    }
}

/// When a connection last moved a byte, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        self.opened.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A stream that records when it last read or wrote a byte.
struct Watched<IO> {
    inner: IO,
    activity: Arc<Activity>,
}

impl<IO> Watched<IO> {
    fn new(inner: IO) -> Watched<IO> {
        Watched { inner, activity: Arc::new(Activity { opened: Instant::now(), last_ms: AtomicU64::new(0) }) }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
