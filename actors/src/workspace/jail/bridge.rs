//! The bridge between the jail's loopback and the server's proxy: a program of its own (built
//! by `build.rs`, embedded in the library, written out when the jail is built), run inside the
//! jail before the command.
//!
//! The jail has no network interface but its own loopback, so the proxy cannot be reached by
//! address. The bridge listens on that loopback and copies each connection to the proxy's Unix
//! socket, bound into the jail; then it runs the real command and exits with its status. It
//! lives exactly as long as the command: when the command ends, so does the jail.
//!
//! Usage: `bridge PORT SOCKET -- PROGRAM [ARGS...]`. Exits with the command's status, 128 plus
//! the signal that ended it, 125 when the bridge itself cannot start, 127 when the command
//! cannot be run.

use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = run(&args);
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

fn run(args: &[OsString]) -> i32 {
    let (port, socket, command) = match parse(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("okcvm bridge: {e}");
            return 125;
        }
    };
    // Bound before the command starts, so its first request finds the bridge listening.
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("okcvm bridge: cannot listen on 127.0.0.1:{port}: {e}");
            return 125;
        }
    };
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let socket = socket.clone();
            std::thread::spawn(move || relay(client, &socket));
        }
    });
    let Some((program, rest)) = command.split_first() else {
        return 125;
    };
    match std::process::Command::new(program).args(rest).status() {
        Ok(status) => status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(e) => {
            eprintln!("{}: {e}", Path::new(program).display());
            127
        }
    }
}

fn parse(args: &[OsString]) -> Result<(u16, PathBuf, Vec<OsString>), String> {
    let [port, socket, dashes, command @ ..] = args else {
        return Err("usage: PORT SOCKET -- PROGRAM [ARGS...]".into());
    };
    if dashes != "--" || command.is_empty() {
        return Err("usage: PORT SOCKET -- PROGRAM [ARGS...]".into());
    }
    let port = port
        .to_str()
        .and_then(|p| p.parse().ok())
        .ok_or("the port is not a number")?;
    Ok((port, PathBuf::from(socket), command.to_vec()))
}

/// Copies one connection both ways until each side has finished sending.
fn relay(client: TcpStream, socket: &Path) {
    let upstream = match UnixStream::connect(socket) {
        Ok(upstream) => upstream,
        Err(_) => {
            let _ = (&client).write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe OKCVM network proxy is not running\n",
            );
            return;
        }
    };
    let (Ok(mut client_read), Ok(mut upstream_write)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let outbound = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = outbound.join();
}
