//! The jail attacked from inside, through real bubblewrap. The server's uid matters for some of
//! these; `tests/integration/jail.rs` runs the same attacks through the real server as root and as an
//! unprivileged user.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::ProcessLimits;
use crate::workspace::{run_command, CommandOutcome, CommandSpec, EnvSource, Workspace};

struct Fixture {
    dir: tempfile::TempDir,
    ws: Workspace,
    jail: std::sync::Arc<Jail>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path().join("ws")).unwrap();
    let jail = test_jail(&dir.path().join("run"));
    Fixture { dir, ws, jail }
}

async fn jailed(fx: &Fixture, command: &str) -> CommandOutcome {
    let spec = CommandSpec {
        command: command.to_owned(),
        workspace: fx.ws.clone(),
        timeout: Duration::from_secs(30),
        max_output_chars: 100_000,
        env_passthrough: vec!["PATH".into()],
        env_source: EnvSource::Vars(HashMap::new()),
        jail: fx.jail.clone(),
        limits: ProcessLimits::default(),
    };
    run_command(spec, &CancellationToken::new()).await.unwrap()
}

#[tokio::test]
async fn agent_code_runs_as_an_unprivileged_uid_with_no_capabilities() {
    let fx = fixture();
    let out = jailed(&fx, "id -u; id -g; grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status").await;
    assert_eq!(
        out.output,
        format!(
            "{SANDBOX_UID}\n{SANDBOX_UID}\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
             CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
        )
    );
}

#[tokio::test]
async fn the_seccomp_filter_refuses_namespaces_mounts_and_tracing() {
    let fx = fixture();
    // Each line tries one thing and prints whether it worked.
    let script = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, result):
    print(name, "ok" if result == 0 else "refused:" + os.strerror(ctypes.get_errno()))
attempt("unshare-user", libc.unshare(0x10000000))
attempt("unshare-net", libc.unshare(0x40000000))
attempt("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
attempt("umount", libc.umount2(b"/proc", 2))
attempt("ptrace", libc.ptrace(16, 1, 0, 0))
attempt("keyctl", libc.syscall(250, 0, 0, 0, 0))
attempt("bpf", libc.syscall(321, 0, 0, 0))
attempt("setns", libc.setns(0, 0))
"#;
    let out = jailed(&fx, &format!("python3 -c '{script}'")).await;
    for line in out.output.lines() {
        assert!(line.contains("refused:"), "{line} in {}", out.output);
    }
    assert_eq!(out.output.lines().count(), 8, "{}", out.output);
    // The refusals are the filter's own (EPERM), not the absence of a capability alone.
    assert!(
        out.output
            .contains("unshare-user refused:Operation not permitted"),
        "{}",
        out.output
    );
}

#[tokio::test]
async fn nothing_of_the_host_is_visible_but_the_runtime_and_the_workspace() {
    let fx = fixture();
    let canary = fx.dir.path().join("canary.txt");
    std::fs::write(&canary, "host secret").unwrap();
    std::fs::write(fx.ws.root().join("mine.txt"), "mine").unwrap();
    let command = format!(
        "cat {canary}; ls /root /home /srv /opt /var/lib 2>&1 | head -5; ls /; cat /mnt/okcomputer/mine.txt; echo; cat /etc/passwd",
        canary = canary.display()
    );
    let out = jailed(&fx, &command).await;
    assert!(!out.output.contains("host secret"), "{}", out.output);
    assert!(
        out.output.contains("No such file or directory"),
        "{}",
        out.output
    );
    assert!(out.output.contains("mine\n"), "{}", out.output);
    let root: Vec<&str> = out
        .output
        .lines()
        .skip_while(|l| !l.starts_with("bin"))
        .take_while(|l| !l.starts_with("mine"))
        .collect();
    for name in &root {
        assert!(
            [
                "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "mnt", "proc", "run",
                "sbin", "tmp", "usr", "var"
            ]
            .contains(name),
            "{name} is in the jail's root: {root:?}"
        );
    }
    assert!(
        out.output.contains(&format!("okcomputer:x:{SANDBOX_UID}")),
        "{}",
        out.output
    );
    assert!(
        !out.output.contains("/root:"),
        "host accounts: {}",
        out.output
    );
}

#[tokio::test]
async fn the_jails_own_process_list_shows_no_host_path() {
    let fx = fixture();
    let out = jailed(&fx, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").await;
    let host = fx.dir.path().to_string_lossy().into_owned();
    assert!(!out.output.contains(&host), "{}", out.output);
    assert!(out.output.contains("--args"), "{}", out.output);
}

#[tokio::test]
async fn tmp_is_private_writable_and_bounded() {
    let fx = fixture();
    let out = jailed(
        &fx,
        "head -c 100000000 /dev/zero > /tmp/fill; echo exit=$?; stat -c size=%s /tmp/fill; rm /tmp/fill; touch /tmp/ok && echo touched; ls -ld /tmp",
    )
    .await;
    // The test jail's /tmp holds 64 MiB.
    assert!(
        out.output.contains("No space left on device"),
        "{}",
        out.output
    );
    assert!(out.output.contains("exit=1"), "{}", out.output);
    assert!(
        out.output.contains(&format!("size={}", 64 << 20)),
        "{}",
        out.output
    );
    assert!(out.output.contains("touched"), "{}", out.output);
    assert!(out.output.contains("drwxrwxrwt"), "{}", out.output);
}

#[tokio::test]
async fn no_descriptor_the_server_holds_open_reaches_agent_code() {
    let fx = fixture();
    let secret = fx.dir.path().join("held-open.txt");
    std::fs::write(&secret, "held-open-secret").unwrap();
    let file = std::fs::File::open(&secret).unwrap();
    // A duplicate without close-on-exec: what a careless parent of the server might leave.
    let inheritable = nix::unistd::dup(&file).unwrap();
    let number = std::os::fd::AsRawFd::as_raw_fd(&inheritable);
    let out = jailed(
        &fx,
        &format!("ls /proc/self/fd; cat /proc/self/fd/{number} <&{number} 2>&1; cat <&{number}"),
    )
    .await;
    assert!(!out.output.contains("held-open-secret"), "{}", out.output);
    assert!(
        !out.output.lines().any(|l| l == number.to_string()),
        "{}",
        out.output
    );
    drop(inheritable);
}

#[test]
fn a_host_jail_says_plainly_that_nothing_is_isolated() {
    let report = Jail::host().report();
    assert_eq!(report.sandbox, "none");
    assert_eq!(report.network, "host");
    assert_eq!(report.not_isolated.len(), 1);
    assert!(report.not_isolated[0].contains("data directory"));
}

#[tokio::test]
async fn a_command_given_while_the_jail_is_being_built_waits_for_it_and_runs_jailed() {
    let dir = tempfile::tempdir().unwrap();
    // A new run folder: its `/etc` is made and the jail probed on the jail's own thread.
    let jail = Jail::start(JailSetup {
        sandbox: SandboxChoice::Bwrap,
        network: NetworkChoice::Off,
        run_dir: dir.path().join("run"),
        proxy_socket: None,
        tmp_bytes: 1 << 20,
    });
    let report = jail.report();
    match jail.isolation() {
        Isolation::Preparing => assert_eq!(
            (report.sandbox, report.not_isolated.len()),
            ("preparing", 0)
        ),
        other => assert_eq!(other, &Isolation::Jailed),
    }
    let fx = Fixture {
        ws: Workspace::open(dir.path().join("ws")).unwrap(),
        dir,
        jail,
    };
    let out = jailed(&fx, "id -u").await;
    assert_eq!(out.output, format!("{SANDBOX_UID}\n"));
    assert_eq!(fx.jail.ready().await, &Isolation::Jailed);
    assert_eq!(fx.jail.report().sandbox, "bubblewrap");
}

#[test]
fn a_jail_that_cannot_be_built_names_the_setting_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let jail = Jail::prepare(&JailSetup {
        sandbox: SandboxChoice::Bwrap,
        network: NetworkChoice::Proxy,
        run_dir: dir.path().to_path_buf(),
        proxy_socket: None,
        tmp_bytes: 1 << 20,
    });
    let Isolation::Unavailable(reason) = jail.isolation() else {
        panic!("{:?}", jail.isolation());
    };
    assert!(reason.contains("proxy"), "{reason}");
    assert_eq!(jail.report().sandbox, "unavailable");
}

#[test]
fn the_filter_compiles_for_this_machine_and_lists_what_it_refuses() {
    let programs = seccomp::programs().unwrap();
    assert_eq!(programs.len(), 2);
    assert!(programs.iter().all(|p| !p.is_empty() && p.len() % 8 == 0));
    let refused: Vec<&str> = seccomp::refused_calls().collect();
    for call in [
        "mount",
        "ptrace",
        "bpf",
        "setns",
        "unshare",
        "keyctl",
        "userfaultfd",
    ] {
        assert!(refused.contains(&call), "{call}");
    }
}
