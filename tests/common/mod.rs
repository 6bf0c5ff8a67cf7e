//! Shared test support: a real `redis-server` on a free port, one per test binary, stopped
//! when the binary exits. Tests isolate themselves with their own key namespace.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod ari;
pub mod graph;

pub struct RedisServer {
    pub url: String,
    pub port: u16,
    pub dir: std::path::PathBuf,
    child: Mutex<Option<Child>>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Start a server with append-only persistence in a fresh directory.
    pub fn start() -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("puente-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let server = RedisServer {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            dir,
            child: Mutex::new(None),
        };
        server.spawn();
        server
    }

    fn spawn(&self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed to run the Redis tests (scripts/test.sh installs it)");
        *self.child.lock().unwrap() = Some(child);
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < until,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the server (as a crash would), leaving it down.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop the server without closing anything (SIGSTOP): connections stay open and
    /// nothing answers, as with a Redis stuck on a slow disk.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Let a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.lock().unwrap().as_ref().map(Child::id);
        if let Some(pid) = pid {
            let ok = Command::new("kill")
                .args([sig, &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "kill {sig} {pid}");
        }
    }

    /// Start a killed server again on the same port and data.
    pub fn start_again(&self) {
        self.spawn();
    }

    /// Kill the server (as a crash would) and start it again on the same data.
    pub fn restart(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis to test against: the one `scripts/test.sh` started (`PUENTE_TEST_REDIS_URL`),
/// or else a server of the test's own, stopped when the returned guard drops.
pub fn redis() -> (String, Option<RedisServer>) {
    match std::env::var("PUENTE_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let s = RedisServer::start();
            (s.url.clone(), Some(s))
        }
    }
}

/// A namespace no other test uses.
pub fn namespace(test: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("test-{}-{test}-{n}", std::process::id())
}

/// A local Redis Cluster of three masters, stopped when dropped.
pub struct RedisCluster {
    pub url: String,
    nodes: Vec<Child>,
    dir: std::path::PathBuf,
}

/// A port that is free, and whose cluster bus port (+10000) is free too.
fn free_cluster_port(taken: &[u16]) -> u16 {
    loop {
        let p = free_port();
        if p > 50000 || taken.contains(&p) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        let mut ports = Vec::new();
        for _ in 0..3 {
            ports.push(free_cluster_port(&ports));
        }
        let dir = std::env::temp_dir().join(format!(
            "puente-cluster-{}-{}",
            std::process::id(),
            ports[0]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut nodes = Vec::new();
        for p in &ports {
            let child = Command::new("redis-server")
                .args(["--port", &p.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &format!("nodes-{p}.conf"),
                ])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed (scripts/test.sh installs it)");
            nodes.push(child);
        }
        let cluster = RedisCluster {
            url: ports
                .iter()
                .map(|p| format!("redis://127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(","),
            nodes,
            dir,
        };
        let until = Instant::now() + Duration::from_secs(10);
        for p in &ports {
            while std::net::TcpStream::connect(("127.0.0.1", *p)).is_err() {
                assert!(Instant::now() < until, "cluster node {p} did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli --cluster create failed");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = ports.iter().all(|p| {
                Command::new("redis-cli")
                    .args(["-p", &p.to_string(), "cluster", "info"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
                    .unwrap_or(false)
            });
            if ok {
                break;
            }
            assert!(Instant::now() < until, "the cluster did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for c in &mut self.nodes {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster to test against: the one `scripts/test.sh` started
/// (`PUENTE_TEST_REDIS_CLUSTER_URL`, comma-separated nodes), or one of the test's own.
pub fn redis_cluster() -> (String, Option<RedisCluster>) {
    match std::env::var("PUENTE_TEST_REDIS_CLUSTER_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let c = RedisCluster::start();
            (c.url.clone(), Some(c))
        }
    }
}

/// A `puente serve` process on a free port, killed (SIGKILL) when dropped.
pub struct Puente {
    pub child: Child,
    pub base: String,
    /// Every line the process logged so far.
    log: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Puente {
    /// Start the real binary with `vars` (listening on a port the OS picks).
    pub fn spawn(vars: &[(&str, &str)]) -> Puente {
        Puente::spawn_with(&["serve"], vars)
    }

    /// Start the real binary with `args` (`serve` and its flags) and `vars`.
    pub fn spawn_with(args: &[&str], vars: &[(&str, &str)]) -> Puente {
        use std::io::{BufRead, BufReader};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_puente"));
        cmd.args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PUENTE_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("addr=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("puente logs its address");
        Puente {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// The lines logged so far that contain `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .cloned()
            .collect()
    }

    /// `kill -9`: no shutdown, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Puente {
    fn drop(&mut self) {
        self.kill();
    }
}
