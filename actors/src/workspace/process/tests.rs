use std::time::Duration;

use super::*;

const BOTH: [SandboxMode; 2] = [SandboxMode::Host, SandboxMode::Jail];

/// The jail (without a network; it fails, never skips, where it cannot be built), or the host.
fn jail_for(mode: SandboxMode, dir: &Path) -> Arc<Jail> {
    match mode {
        SandboxMode::Jail => crate::workspace::jail::test_jail(dir),
        SandboxMode::Host => Arc::new(Jail::host()),
    }
}

fn workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path().join("ws")).unwrap();
    (dir, ws)
}

/// A spec with a fixed environment source, so no test reads the real environment.
fn spec(ws: &Workspace, mode: SandboxMode, command: &str) -> CommandSpec {
    let run_dir = ws.root().parent().unwrap_or(ws.root()).join("run");
    CommandSpec {
        command: command.to_owned(),
        workspace: ws.clone(),
        timeout: Duration::from_secs(30),
        max_output_chars: 10_000,
        env_passthrough: vec!["PATH".into()],
        env_source: EnvSource::Vars(HashMap::from([(
            "PATH".to_owned(),
            "/usr/local/bin:/usr/bin:/bin".to_owned(),
        )])),
        jail: jail_for(mode, &run_dir),
        limits: ProcessLimits::default(),
    }
}

async fn run(spec: CommandSpec) -> CommandOutcome {
    run_command(spec, &CancellationToken::new()).await.unwrap()
}

/// Polls `check` until it holds or five seconds pass.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether a live (not zombie) process has `marker` in its command line.
fn process_with_marker_alive(marker: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let dir = entry.path();
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).contains(marker) && !stat.contains(") Z ")
    })
}

fn unique_marker(name: &str) -> String {
    format!("okcvm-test-{name}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn the_exit_code_is_reported_in_both_modes() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let outcome = run(spec(&ws, mode, "echo hi; exit 3")).await;
        assert_eq!(outcome.exit_code, Some(3), "{mode:?}");
        assert_eq!(outcome.signal, None);
        assert_eq!(outcome.output, "hi\n");
        assert_eq!(outcome.mode, mode);
        assert!(!outcome.timed_out && !outcome.truncated && !outcome.cancelled);
    }
}

#[tokio::test]
async fn stderr_is_merged_with_stdout() {
    let (_dir, ws) = workspace();
    let outcome = run(spec(&ws, SandboxMode::Host, "echo out; echo err >&2")).await;
    assert_eq!(outcome.exit_code, Some(0));
    assert!(outcome.output.contains("out\n"), "{}", outcome.output);
    assert!(outcome.output.contains("err\n"), "{}", outcome.output);
    assert_eq!(outcome.total_chars, 8);
}

#[tokio::test]
async fn a_megabyte_of_output_is_cut_to_the_cap_and_counted() {
    let (_dir, ws) = workspace();
    let outcome = run(spec(
        &ws,
        SandboxMode::Host,
        "head -c 1000000 /dev/zero | tr '\\0' a; echo done >&2",
    ))
    .await;
    assert_eq!(outcome.exit_code, Some(0));
    assert!(outcome.truncated);
    assert_eq!(outcome.total_chars, 1_000_005);
    assert_eq!(outcome.output.chars().count(), 10_000);
}

#[tokio::test]
async fn the_environment_holds_only_passed_through_variables() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let mut spec = spec(&ws, mode, "env");
        spec.env_source = EnvSource::Vars(HashMap::from([
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ("OKCVM_PARENT_ONLY_SECRET".to_owned(), "hunter2".to_owned()),
        ]));
        let outcome = run(spec).await;
        assert!(
            !outcome.output.contains("OKCVM_PARENT_ONLY_SECRET"),
            "{mode:?}"
        );
        assert!(!outcome.output.contains("hunter2"));
        // The jail has its own PATH (the host's may name folders it does not have).
        let path = match mode {
            SandboxMode::Host => "PATH=/usr/bin:/bin\n",
            SandboxMode::Jail => {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            }
        };
        assert!(outcome.output.contains(path), "{}", outcome.output);
        assert!(
            outcome.output.contains("HOME=/mnt/okcomputer\n"),
            "{}",
            outcome.output
        );
    }
}

#[tokio::test]
async fn commands_written_for_the_mount_work_in_both_modes() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let outcome = run(spec(
            &ws,
            mode,
            "pwd; echo made > /mnt/okcomputer/output/made.txt && ls /mnt/okcomputer/output",
        ))
        .await;
        assert_eq!(outcome.exit_code, Some(0), "{mode:?}: {}", outcome.output);
        assert_eq!(outcome.output, "/mnt/okcomputer\nmade.txt\n", "{mode:?}");
        let made = std::fs::read_to_string(ws.root().join("output/made.txt")).unwrap();
        assert_eq!(made, "made\n");
    }
}

#[tokio::test]
async fn inside_bubblewrap_nothing_but_the_workspace_is_writable() {
    let (dir, ws) = workspace();
    let beside = dir.path().join("beside.txt");
    let command = format!(
        "touch {} 2>/dev/null && echo wrote-beside; touch /usr/okcvm-probe 2>/dev/null && echo \
         wrote-usr; touch /tmp/scratch && echo wrote-tmp",
        beside.display()
    );
    let outcome = run(spec(&ws, SandboxMode::Jail, &command)).await;
    assert_eq!(outcome.output, "wrote-tmp\n");
    assert!(!beside.exists());
    assert!(!Path::new("/usr/okcvm-probe").exists());
}

#[tokio::test]
async fn a_timeout_kills_the_whole_group_including_a_background_grandchild() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let marker = unique_marker("timeout");
        let command =
            format!("(exec -a {marker} sleep 1000) & echo $! > grandchild.pid; echo started; wait");
        let mut spec = spec(&ws, mode, &command);
        spec.timeout = Duration::from_millis(1000);
        let outcome = run(spec).await;
        assert!(outcome.timed_out, "{mode:?}");
        assert_eq!(outcome.signal, Some(9));
        assert_eq!(outcome.exit_code, None);
        assert_eq!(outcome.output, "started\n");
        assert!(outcome.duration < Duration::from_secs(10));
        if mode == SandboxMode::Host {
            let pid = std::fs::read_to_string(ws.root().join("grandchild.pid")).unwrap();
            let stat = Path::new("/proc").join(pid.trim()).join("stat");
            eventually("the grandchild to be gone", || {
                std::fs::read_to_string(&stat).map_or(true, |s| s.contains(") Z "))
            })
            .await;
        }
        eventually("no process with the marker", || {
            !process_with_marker_alive(&marker)
        })
        .await;
    }
}

#[tokio::test]
async fn background_processes_do_not_outlive_a_command_that_exits() {
    let (_dir, ws) = workspace();
    let marker = unique_marker("exit");
    let command = format!("(exec -a {marker} sleep 1000) > /dev/null 2>&1 & echo left");
    let outcome = run(spec(&ws, SandboxMode::Host, &command)).await;
    assert_eq!(outcome.exit_code, Some(0));
    eventually("no process with the marker", || {
        !process_with_marker_alive(&marker)
    })
    .await;
}

#[tokio::test]
async fn cancellation_kills_the_command() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let cancel = CancellationToken::new();
        let started = ws.root().join("started");
        let task = tokio::spawn({
            let spec = spec(&ws, mode, "echo up; touch started; sleep 1000");
            let cancel = cancel.clone();
            async move { run_command(spec, &cancel).await }
        });
        eventually("the command to start", || started.exists()).await;
        cancel.cancel();
        let outcome = task.await.unwrap().unwrap();
        assert!(outcome.cancelled, "{mode:?}");
        assert!(!outcome.timed_out);
        assert_eq!(outcome.signal, Some(9));
        assert_eq!(outcome.output, "up\n");
    }
}

#[tokio::test]
async fn host_paths_in_the_output_are_shown_as_the_mount() {
    let (_dir, ws) = workspace();
    let command = format!("echo {}/output", ws.root().display());
    let outcome = run(spec(&ws, SandboxMode::Host, &command)).await;
    assert_eq!(outcome.output, "/mnt/okcomputer/output\n");
}

#[tokio::test]
async fn a_jailed_command_cannot_connect_to_the_hosts_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_dir, ws) = workspace();
    let probe = format!("echo hi > /dev/tcp/127.0.0.1/{port} && echo connected");
    let open = run(spec(&ws, SandboxMode::Host, &probe)).await;
    assert!(open.output.contains("connected"), "{open:?}");
    let closed = run(spec(&ws, SandboxMode::Jail, &probe)).await;
    assert!(!closed.output.contains("connected"), "{closed:?}");
    assert_ne!(closed.exit_code, Some(0));
}

#[tokio::test]
async fn a_file_larger_than_the_limit_cannot_be_written_in_either_mode() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let mut big = spec(
            &ws,
            mode,
            "head -c 3000000 /dev/zero > big.bin; echo exit=$?",
        );
        big.limits.file_size_mb = 1;
        let outcome = run(big).await;
        let size = std::fs::metadata(ws.root().join("big.bin")).unwrap().len();
        assert!(size <= 1024 * 1024, "{mode:?}: wrote {size} bytes");
        assert!(!outcome.output.contains("exit=0"), "{mode:?}: {outcome:?}");
    }
}

#[tokio::test]
async fn memory_beyond_the_limit_is_refused_to_the_command() {
    for mode in BOTH {
        let (_dir, ws) = workspace();
        let mut hungry = spec(
            &ws,
            mode,
            "python3 -c 'b = bytearray(512 * 1024 * 1024); print(\"allocated\")'",
        );
        hungry.limits.memory_mb = 256;
        let outcome = run(hungry).await;
        assert!(
            !outcome.output.contains("allocated"),
            "{mode:?}: {outcome:?}"
        );
        assert!(
            outcome.output.contains("MemoryError"),
            "{mode:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_busy_loop_is_stopped_at_the_cpu_limit_before_the_timeout() {
    let (_dir, ws) = workspace();
    let mut spin = spec(&ws, SandboxMode::Jail, "while :; do :; done");
    spin.limits.cpu_seconds = 1;
    spin.timeout = Duration::from_secs(20);
    let outcome = run(spin).await;
    assert!(!outcome.timed_out, "{outcome:?}");
    assert!(
        outcome.signal.is_some() || outcome.exit_code != Some(0),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_limits_cannot_be_raised_by_the_command() {
    let (_dir, ws) = workspace();
    let mut raise = spec(
        &ws,
        SandboxMode::Jail,
        "ulimit -f unlimited && echo raised; ulimit -f",
    );
    raise.limits.file_size_mb = 1;
    let outcome = run(raise).await;
    assert!(!outcome.output.contains("raised"), "{outcome:?}");
    assert!(outcome.output.contains("1024"), "{outcome:?}");
}

#[tokio::test]
async fn where_the_jail_cannot_be_built_commands_are_refused_with_the_reason() {
    let (_dir, ws) = workspace();
    let mut refused = spec(&ws, SandboxMode::Host, "echo ran");
    refused.jail = Arc::new(Jail::unavailable("no user namespaces here"));
    let error = run_command(refused, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::Unsupported);
    assert_eq!(error.to_string(), "no user namespaces here");
}

#[tokio::test]
async fn a_fork_bomb_is_held_to_the_process_limit_and_leaves_nothing_behind() {
    // Checked before the bomb is lit: without a pids cgroup it would not be contained.
    assert!(
        process_cgroups_available(),
        "no writable pids cgroup here: the process limit cannot be enforced for root"
    );
    let (_dir, ws) = workspace();
    let marker = unique_marker("bomb");
    let mut bomb = spec(
        &ws,
        SandboxMode::Jail,
        &format!("# {marker}\nb() {{ b | b & }}; b; sleep 2"),
    );
    bomb.limits.processes = 64;
    bomb.timeout = Duration::from_secs(3);
    let outcome = run(bomb).await;
    assert!(
        outcome.output.contains("Resource temporarily unavailable"),
        "the bomb was not held to the limit: {outcome:?}"
    );
    eventually("the bomb's processes are gone", || {
        !process_with_marker_alive(&marker)
    })
    .await;
}

#[tokio::test]
async fn a_gigabyte_of_output_is_read_to_the_end_but_only_the_cap_is_kept() {
    let (_dir, ws) = workspace();
    let mut flood = spec(
        &ws,
        SandboxMode::Jail,
        "head -c 1000000000 /dev/zero | tr '\\0' 'x'",
    );
    flood.timeout = Duration::from_secs(120);
    let outcome = run(flood).await;
    assert!(!outcome.timed_out, "{:?}", outcome.duration);
    assert_eq!(outcome.exit_code, Some(0));
    assert!(outcome.truncated);
    assert_eq!(outcome.total_chars, 1_000_000_000);
    assert_eq!(outcome.output.chars().count(), 10_000);
}
