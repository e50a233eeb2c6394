//! A real, throwaway Kubernetes control plane on 127.0.0.1: etcd + kube-apiserver +
//! kube-controller-manager, on free ports with a fresh data directory and its own kubeconfig.
//! Used by `plumb dev cluster up|down` and by the tests. The binaries are built once per
//! machine by `scripts/install-test-cluster` (see its header for where they are cached).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the control plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevClusterError {
    #[error(
        "the test Kubernetes binaries are not installed in {dir} ({missing} is missing); run scripts/install-test-cluster (or scripts/setup) once on this machine"
    )]
    NotInstalled { dir: PathBuf, missing: String },
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{what} did not become ready within {timeout:?}; its log is {log}:\n{tail}")]
    NotReady {
        what: &'static str,
        timeout: Duration,
        log: PathBuf,
        tail: String,
    },
    #[error("{what} exited early ({status}); its log is {log}:\n{tail}")]
    Exited {
        what: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where `scripts/install-test-cluster` puts the binaries.
pub fn default_bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PLUMB_K8S_BIN_DIR") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("PLUMB_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("plumb")))
        .unwrap_or_else(|| PathBuf::from(".cache/plumb"));
    cache.join("k8s-1.20.2/bin")
}

/// A running control plane. Dropping it stops the processes it started (by PID) and, unless
/// [`DevCluster::keep_data`] was called, removes its data directory.
pub struct DevCluster {
    dir: PathBuf,
    kubeconfig: PathBuf,
    server: String,
    token: String,
    children: Vec<(&'static str, Child)>,
    keep_data: bool,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(hex::encode(buf))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl DevCluster {
    /// Starts etcd, kube-apiserver and kube-controller-manager under `dir` (created if needed)
    /// and waits until the API server answers `/readyz`.
    pub fn start(bin_dir: &Path, dir: &Path) -> Result<DevCluster, DevClusterError> {
        for b in ["etcd", "kube-apiserver", "kube-controller-manager"] {
            if !bin_dir.join(b).exists() {
                return Err(DevClusterError::NotInstalled {
                    dir: bin_dir.to_path_buf(),
                    missing: b.into(),
                });
            }
        }
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        let (etcd_port, peer_port, api_port) = (free_port()?, free_port()?, free_port()?);
        let token = random_hex(16)?;
        let mut cluster = DevCluster {
            kubeconfig: dir.join("kubeconfig"),
            server: format!("https://127.0.0.1:{api_port}"),
            dir: dir.clone(),
            token: token.clone(),
            children: Vec::new(),
            keep_data: false,
        };

        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        cluster.spawn(
            "etcd",
            Command::new(bin_dir.join("etcd")).args([
                "--name",
                "plumb",
                "--data-dir",
                &dir.join("etcd").display().to_string(),
                "--listen-client-urls",
                &etcd_url,
                "--advertise-client-urls",
                &etcd_url,
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
                "--initial-cluster",
                &format!("plumb={peer_url}"),
                "--log-level",
                "warn",
            ]),
        )?;

        let sa_key = dir.join("sa.key");
        let sa_pub = dir.join("sa.pub");
        let status = Command::new("openssl")
            .arg("genrsa")
            .arg("-out")
            .arg(&sa_key)
            .arg("2048")
            .stderr(Stdio::null())
            .status();
        let status2 = status.and_then(|_| {
            Command::new("openssl")
                .args(["rsa", "-in"])
                .arg(&sa_key)
                .args(["-pubout", "-out"])
                .arg(&sa_pub)
                .stderr(Stdio::null())
                .status()
        });
        match status2 {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(DevClusterError::Spawn {
                    what: "openssl",
                    source: std::io::Error::other(format!("exited with {s}")),
                });
            }
            Err(source) => {
                return Err(DevClusterError::Spawn {
                    what: "openssl",
                    source,
                });
            }
        }
        std::fs::write(
            dir.join("tokens.csv"),
            format!("{token},admin,admin-uid,\"system:masters\"\n"),
        )?;

        cluster.spawn(
            "kube-apiserver",
            Command::new(bin_dir.join("kube-apiserver")).args([
                &format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                &format!("--secure-port={api_port}"),
                &format!("--cert-dir={}", dir.join("pki").display()),
                &format!("--token-auth-file={}", dir.join("tokens.csv").display()),
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                &format!("--service-account-key-file={}", sa_pub.display()),
                &format!("--service-account-signing-key-file={}", sa_key.display()),
                "--service-cluster-ip-range=10.0.0.0/24",
                "--endpoint-reconciler-type=none",
            ]),
        )?;
        // The serving certificate is generated at start-up; the kubeconfig verifies against it.
        cluster.wait_ready(Duration::from_secs(60))?;
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: plumb-dev\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: admin\n  user:\n    token: {}\ncontexts:\n- name: plumb-dev\n  context:\n    cluster: plumb-dev\n    user: admin\n    namespace: default\ncurrent-context: plumb-dev\n",
            cluster.server,
            dir.join("pki/apiserver.crt").display(),
            token
        );
        std::fs::write(&cluster.kubeconfig, kubeconfig)?;

        cluster.spawn(
            "kube-controller-manager",
            Command::new(bin_dir.join("kube-controller-manager")).args([
                &format!("--kubeconfig={}", cluster.kubeconfig.display()),
                "--leader-elect=false",
                "--port=0",
                "--secure-port=0",
                &format!("--service-account-private-key-file={}", sa_key.display()),
                "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-ttl,-bootstrapsigner,-tokencleaner",
            ]),
        )?;
        Ok(cluster)
    }

    fn spawn(&mut self, what: &'static str, cmd: &mut Command) -> Result<(), DevClusterError> {
        let log = self.dir.join(format!("{what}.log"));
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| DevClusterError::Spawn { what, source })?;
        self.children.push((what, child));
        Ok(())
    }

    fn check_alive(&mut self) -> Result<(), DevClusterError> {
        for (what, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                let log = self.dir.join(format!("{what}.log"));
                return Err(DevClusterError::Exited {
                    what,
                    status: status.to_string(),
                    tail: tail(&log),
                    log,
                });
            }
        }
        Ok(())
    }

    /// Waits until the API server answers `/readyz` (asked with curl, verifying its TLS
    /// certificate), failing early if a process exits.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), DevClusterError> {
        let started = Instant::now();
        let cert = self.dir.join("pki/apiserver.crt");
        let addr = self.server.trim_start_matches("https://").to_string();
        loop {
            self.check_alive()?;
            if cert.exists() && std::net::TcpStream::connect(&addr).is_ok() && self.readyz() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                let log = self.dir.join("kube-apiserver.log");
                return Err(DevClusterError::NotReady {
                    what: "kube-apiserver",
                    timeout,
                    tail: tail(&log),
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `GET /readyz` through `curl` (present wherever the install script ran), verifying TLS.
    fn readyz(&self) -> bool {
        Command::new("curl")
            .args(["-sf", "--max-time", "2", "--cacert"])
            .arg(self.dir.join("pki/apiserver.crt"))
            .args(["-H", &format!("Authorization: Bearer {}", self.token)])
            .arg(format!("{}/readyz", self.server))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The kubeconfig to use (admin token, server CA verified).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PIDs of the processes this cluster started, for `plumb dev cluster down`.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|(_, c)| c.id()).collect()
    }

    /// Leaves the data directory in place when stopped (for `plumb dev cluster up`).
    pub fn keep_data(&mut self) {
        self.keep_data = true;
    }

    /// Leaves the processes running and forgets them (they outlive this process).
    pub fn detach(mut self) -> Vec<u32> {
        self.keep_data = true;
        let pids = self.pids();
        self.children.clear();
        pids
    }

    /// Stops what this cluster started, newest first: SIGTERM, then SIGKILL after 5 s.
    pub fn stop(&mut self) {
        while let Some((_, mut child)) = self.children.pop() {
            stop_pid(child.id());
            let _ = child.wait();
        }
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// SIGTERM, then SIGKILL if the process is still there after 5 s.
pub fn stop_pid(pid: u32) {
    let pid = pid as libc::pid_t;
    // SAFETY: kill has no memory-safety preconditions; the PID is one we started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        // Signal 0 probes existence; reap if it is our child.
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG on a PID we started; harmless if it is not our child.
        unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        // SAFETY: as above.
        if unsafe { libc::kill(pid, 0) } != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
