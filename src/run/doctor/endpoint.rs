//! Whether services answer: a TCP connection to the Caddy admin API or to
//! PostgreSQL, with a short timeout, all of them at once. Nothing is sent.

use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one service may take to accept a connection.
pub(super) const TIMEOUT: Duration = Duration::from_secs(1);

/// Where a service is reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Address {
    /// `host:port`.
    Tcp(String),
    /// A Unix socket (PostgreSQL's `/run/postgresql/.s.PGSQL.5432`).
    Socket(String),
}

impl Address {
    /// The `host:port` of an HTTP URL (`http://127.0.0.1:2019`, the port defaulting
    /// to the scheme's).
    pub(super) fn of_url(url: &str) -> Self {
        let (rest, port) = match url.split_once("://") {
            Some(("https", rest)) => (rest, 443),
            Some((_, rest)) => (rest, 80),
            None => (url, 80),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let has_port = authority.rsplit_once(':').is_some_and(|(host, p)| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':')
        });
        if has_port && !(authority.starts_with('[') && authority.ends_with(']')) {
            Self::Tcp(authority.to_owned())
        } else {
            Self::Tcp(format!("{authority}:{port}"))
        }
    }

    /// A PostgreSQL server: a host and port, or a socket directory and port.
    pub(super) fn postgres(host: &str, port: u16) -> Self {
        if host.starts_with('/') {
            Self::Socket(format!("{}/.s.PGSQL.{port}", host.trim_end_matches('/')))
        } else if host.contains(':') && !host.starts_with('[') {
            Self::Tcp(format!("[{host}]:{port}"))
        } else {
            Self::Tcp(format!("{host}:{port}"))
        }
    }

    /// As shown to the user.
    pub(super) fn shown(&self) -> &str {
        match self {
            Self::Tcp(a) | Self::Socket(a) => a,
        }
    }
}

/// Whether each address accepts a connection (`Err` says why not), in the order
/// given. The addresses are tried at once, each in a thread of its own, and the
/// answer is in after [`TIMEOUT`] and a little: a name that takes longer to
/// resolve counts as not answering.
pub(super) fn probe_all(addresses: &[Address]) -> Vec<Result<(), String>> {
    let (tx, rx) = mpsc::channel();
    for (i, address) in addresses.iter().enumerate() {
        let (tx, address) = (tx.clone(), address.clone());
        std::thread::spawn(move || {
            let _ = tx.send((i, probe(&address)));
        });
    }
    drop(tx);
    let mut results = vec![Err(format!("no answer within {}s", TIMEOUT.as_secs())); addresses.len()];
    let deadline = Instant::now() + TIMEOUT + Duration::from_millis(500);
    while let Ok((i, result)) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        results[i] = result;
    }
    results
}

fn probe(address: &Address) -> Result<(), String> {
    match address {
        Address::Socket(path) => {
            if Path::new(path).exists() {
                Ok(())
            } else {
                Err(format!("no socket {path}"))
            }
        }
        Address::Tcp(address) => {
            let resolved = address.to_socket_addrs().map_err(|e| {
                let host = address.rsplit_once(':').map_or(address.as_str(), |(h, _)| h);
                format!("cannot resolve `{host}` ({e})")
            })?;
            let mut why = "it resolves to no address".to_owned();
            for socket in resolved {
                match TcpStream::connect_timeout(&socket, TIMEOUT) {
                    Ok(_) => return Ok(()),
                    Err(e) => why = describe(&e),
                }
            }
            Err(why)
        }
    }
}

fn describe(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            format!("no answer within {}s", TIMEOUT.as_secs())
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_urls_and_servers() {
        let tcp = |a: &str| Address::Tcp(a.to_owned());
        assert_eq!(Address::of_url("http://127.0.0.1:2019"), tcp("127.0.0.1:2019"));
        assert_eq!(Address::of_url("http://localhost:2019/"), tcp("localhost:2019"));
        assert_eq!(Address::of_url("https://caddy.lan"), tcp("caddy.lan:443"));
        assert_eq!(Address::of_url("http://[::1]:2019"), tcp("[::1]:2019"));
        assert_eq!(Address::of_url("http://[::1]"), tcp("[::1]:80"));
        assert_eq!(Address::postgres("db.lan", 5432), tcp("db.lan:5432"));
        assert_eq!(Address::postgres("::1", 5432), tcp("[::1]:5432"));
        assert_eq!(
            Address::postgres("/run/postgresql/", 5433),
            Address::Socket("/run/postgresql/.s.PGSQL.5433".to_owned())
        );
    }

    #[test]
    fn a_closed_port_does_not_answer_and_an_open_one_does() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let results = probe_all(&[
            Address::Tcp(open.local_addr().unwrap().to_string()),
            Address::Tcp(format!("127.0.0.1:{closed_port}")),
        ]);
        assert_eq!(results[0], Ok(()));
        assert_eq!(results[1], Err("connection refused".to_owned()));
    }
}
