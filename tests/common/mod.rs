//! Shared test support: a real `redis-server` on a free port, one per test binary, stopped
//! when the binary exits. Tests isolate themselves with their own key namespace.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
