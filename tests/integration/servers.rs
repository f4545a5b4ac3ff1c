//! Loopback servers for the tests: HTTP backends that answer, answer wrong, hang or
//! refuse, a real Caddy, and a real PostgreSQL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A port nothing listens on (bound, then released).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a test backend does with each request.
#[derive(Clone, Copy)]
pub(crate) enum Behaviour {
    /// 200 with this body.
    Ok(&'static str),
    /// This status, with a short body.
    Status(u16),
    /// Accept and never answer.
    Hang,
    /// Fail (503) the first N requests, then 200 "recovered".
    FailFirst(usize),
}

/// An HTTP/1.1 server on 127.0.0.1 running in background threads for the test's life.
pub(crate) struct Backend {
    pub port: u16,
    pub requests: Arc<AtomicUsize>,
}

impl Backend {
    pub(crate) fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || serve(stream, behaviour, n));
            }
        });
        Self { port, requests }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour, n: usize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    // Read the request head.
    while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
        if line == "\r\n" || line == "\n" {
            break;
        }
        line.clear();
    }
    let (status, body) = match behaviour {
        Behaviour::Ok(body) => (200, body.to_owned()),
        Behaviour::Status(code) => (code, format!("status {code}")),
        Behaviour::Hang => {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        Behaviour::FailFirst(k) if n < k => (503, "not yet".to_owned()),
        Behaviour::FailFirst(_) => (200, "recovered".to_owned()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A plain HTTP GET on loopback, returning (status, body).
pub(crate) fn get(port: u16, path: &str, host: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A real Caddy with its admin API on a free loopback port, stopped on drop.
pub(crate) struct CaddyServer {
    child: Child,
    pub admin_port: u16,
}

impl CaddyServer {
    pub(crate) fn start(dir: &Path) -> Self {
        let admin_port = free_port();
        let config = dir.join("caddy-initial.json");
        std::fs::write(
            &config,
            format!(r#"{{"admin": {{"listen": "127.0.0.1:{admin_port}"}}}}"#),
        )
        .unwrap();
        let child = Command::new("caddy")
            .args(["run", "--config"])
            .arg(&config)
            .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
            .env("XDG_DATA_HOME", dir.join("xdg-data"))
            .env("HOME", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start caddy");
        let server = Self { child, admin_port };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", admin_port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "caddy admin API never came up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The live config, as the admin API returns it.
    pub(crate) fn config(&self) -> String {
        get(
            self.admin_port,
            "/config/",
            &format!("127.0.0.1:{}", self.admin_port),
        )
        .1
    }
}

impl Drop for CaddyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL server in a temporary directory on a free loopback port.
pub(crate) struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

/// Certificates made with openssl for a TLS server: a CA, and a server certificate
/// it signed for `pg.internal` only (so connecting to 127.0.0.1 is a name mismatch).
pub(crate) struct Certificates {
    pub ca: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificates {
    pub(crate) fn make(dir: &Path) -> Self {
        let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
        for name in ["ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-subj",
                &format!("/CN=ops test {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]);
        }
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:pg.internal\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=pg.internal",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ]);
        Self {
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }
}

impl Postgres {
    pub(crate) fn start() -> Self {
        Self::start_with(None)
    }

    /// With TLS from these certificates, and `pg_hba.conf` refusing connections
    /// over TCP without it (as many CloudNativePG setups do).
    pub(crate) fn start_tls(certs: &Certificates) -> Self {
        Self::start_with(Some(certs))
    }

    fn start_with(tls: Option<&Certificates>) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())
            .expect("PostgreSQL server binaries");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        run(Command::new("chown").args(["-R", "postgres", dir.path().to_str().unwrap()]));
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args(["-D", data.to_str().unwrap(), "-A", "trust"]));
        let port = free_port();
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={}",
            dir.path().display()
        );
        if let Some(certs) = tls {
            let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            std::fs::copy(&certs.cert, &cert).unwrap();
            std::fs::copy(&certs.key, &key).unwrap();
            run(Command::new("chown").args(["postgres", cert.to_str().unwrap(), key.to_str().unwrap()]));
            run(Command::new("chmod").args(["600", key.to_str().unwrap()]));
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
            )
            .unwrap();
            options = format!(
                "{options} -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            );
        }
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                dir.path().join("log").to_str().unwrap(),
                "-w",
                "start",
            ]));
        Self { dir, port, bin }
    }

    pub(crate) fn sql(&self, sql: &str) {
        run(Command::new("psql").args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ]));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

pub(crate) fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
