//! The per-call sandbox: a fresh store whose WASI has no files, no environment, no network,
//! a fixed clock and fixed randomness, and a memory cap that records when it was hit.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::source::SourceTree;

/// Store data of one plugin call.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    /// The tree a renderer reads; `None` for policies.
    pub source: Option<Arc<dyn SourceTree>>,
    /// Every path the plugin read or listed, root-relative.
    pub reads: BTreeSet<String>,
    pub stderr: CappedPipe,
}

impl State {
    pub fn new(
        memory_cap: u64,
        commit_time: Option<i64>,
        source: Option<Arc<dyn SourceTree>>,
    ) -> Self {
        let stderr = CappedPipe::new(STDERR_CAP);
        let mut b = WasiCtxBuilder::new();
        // Same input, same bytes: no real clock, no real randomness.
        let now = Duration::from_secs(commit_time.unwrap_or(0).max(0) as u64);
        b.wall_clock(FixedClock(now))
            .monotonic_clock(FixedClock(Duration::ZERO))
            .secure_random(wasmtime_wasi::Deterministic::new(FIXED_RANDOM.to_vec()))
            .insecure_random(wasmtime_wasi::Deterministic::new(FIXED_RANDOM.to_vec()))
            .insecure_random_seed(0)
            .max_random_size(1 << 20)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .stderr(stderr.clone());
        State {
            wasi: b.build(),
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_cap,
                hit: None,
            },
            source,
            reads: BTreeSet::new(),
            stderr,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The bytes behind every "random" number a plugin sees.
const FIXED_RANDOM: [u8; 8] = [0x70, 0x6c, 0x75, 0x6d, 0x62, 0x21, 0x5a, 0xa5];
/// How much of a plugin's stderr is kept for error messages.
const STDERR_CAP: usize = 16 * 1024;

/// Caps linear memory (and tables) and remembers a refused growth, so the host can report a
/// memory-limit error rather than whatever trap the guest raises after its allocation fails.
pub struct Limiter {
    memory_cap: u64,
    pub hit: Option<u64>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_cap {
            self.hit = Some(desired as u64);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// A clock that never moves.
struct FixedClock(Duration);

impl wasmtime_wasi::HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

impl wasmtime_wasi::HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.as_nanos() as u64
    }
}

/// Keeps the first `cap` bytes a plugin writes to stderr and silently drops the rest, so a
/// chatty plugin neither grows host memory nor fails on a full pipe.
#[derive(Clone)]
pub struct CappedPipe {
    cap: usize,
    buf: Arc<Mutex<Vec<u8>>>,
}

impl CappedPipe {
    fn new(cap: usize) -> Self {
        CappedPipe {
            cap,
            buf: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// What the plugin wrote, lossily decoded.
    pub fn contents(&self) -> String {
        let buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn push(&self, bytes: &[u8]) {
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.cap.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
