//! The tenant boundary attacked the way a tenant's agent would, through the real server's real
//! tools (the model is scripted to make the calls), with the server running as root and again
//! as an unprivileged user (`nobody`). Every attack must be refused or contained either way.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::binary::{start_as, ServerProcess};
use support::fake_model::*;
use support::fixed_server::FixedServer;

/// The unprivileged user the server runs as in the second pass.
const NOBODY: u32 = 65534;

/// The API key the server holds: nothing in a jail may ever see it.
const SECRET_KEY: &str = "sk-canary-7f3a9c1e-the-servers-own-key";

/// Who the server runs as, in turn: the test's own user (root in CI) and, when the test can
/// switch users, `nobody`. Said aloud when the second pass cannot run.
fn server_users() -> Vec<Option<u32>> {
    if nix::unistd::Uid::effective().is_root() {
        vec![None, Some(NOBODY)]
    } else {
        eprintln!(
            "NOTE: not root, so the jail tests run with the server as this user only (CI runs \
             them as root and as nobody)"
        );
        vec![None]
    }
}

/// A real `okcvm run` on its own data directory, owned by the user it runs as, with a scripted
/// model.
struct Target {
    server: ServerProcess,
    model: FakeModel,
    dir: tempfile::TempDir,
    client: reqwest::Client,
    uid: Option<u32>,
}

impl Target {
    async fn start(uid: Option<u32>, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        if let Some(uid) = uid {
            for path in [dir.path(), &data] {
                nix::unistd::chown(
                    path,
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(uid)),
                )
                .unwrap();
            }
        }
        let model = FakeModel::start().await;
        let mut all = vec![("OKCVM_CHAT_API_KEY", SECRET_KEY)];
        all.extend_from_slice(env);
        let server = start_as(
            env!("CARGO_BIN_EXE_okcvm"),
            &data,
            &model.base_url(),
            &all,
            uid,
        )
        .await;
        Self {
            server,
            model,
            dir,
            client: reqwest::Client::new(),
            uid,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn who(&self) -> &'static str {
        if self.uid.is_some() {
            "server as nobody"
        } else {
            "server as the test's user"
        }
    }

    /// Runs one tool call in `session` through a chat turn and returns what the model read.
    async fn call(&self, session: &str, tool: &str, args: Value) -> String {
        let before = self.model.request_count();
        self.model.push(sse(vec![
            ev_tool_call("call-1", &format!("mshtools-{tool}"), &args.to_string()),
            ev_finish("tool_calls"),
            ev_done(),
        ]));
        self.model
            .push(sse(vec![ev_text("done"), ev_finish("stop"), ev_done()]));
        let response = self
            .client
            .post(format!("{}/api/chat?client_id={session}", self.server.url))
            .json(&json!({"message": "go"}))
            .timeout(Duration::from_secs(180))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", self.who());
        let _: Value = response.json().await.unwrap();
        let requests = self.model.requests();
        assert_eq!(requests.len(), before + 2, "{}", self.who());
        requests.last().unwrap().body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["role"] == "tool")
            .and_then(|m| m["content"].as_str())
            .unwrap()
            .to_owned()
    }

    async fn shell(&self, session: &str, command: &str) -> String {
        self.call(
            session,
            "shell",
            json!({"command": command, "timeout": 60_000}),
        )
        .await
    }

    async fn python(&self, session: &str, code: &str) -> String {
        self.call(session, "ipython", json!({"code": code})).await
    }

    async fn healthy(&self) -> bool {
        self.client
            .get(format!("{}/api/health", self.server.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    }

    fn port(&self) -> u16 {
        self.server.url.rsplit(':').next().unwrap().parse().unwrap()
    }
}

/// Whether a live process on the host has `marker` in its command line.
fn host_process_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).contains(marker) && !stat.contains(") Z ")
    })
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server on `ip` answering `listener-reply` to everything, counting its connections.
fn counting_listener(ip: &str) -> FixedServer {
    FixedServer::start(ip, "text/plain", b"listener-reply".to_vec())
}

/// A server on `ip` serving `body` as HTML at every path; returns its port.
fn page_server(ip: &str, body: String) -> u16 {
    FixedServer::start(ip, "text/html", body.into_bytes()).port
}

#[tokio::test]
async fn agent_code_runs_unprivileged_without_capabilities_whoever_the_server_runs_as() {
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        let out = target
            .shell("a", "id -u; grep -E '^CapEff|^CapBnd' /proc/self/status")
            .await;
        assert!(
            out.starts_with("1000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"),
            "{}: {out}",
            target.who()
        );
    }
}

#[tokio::test]
async fn the_servers_secrets_environment_and_data_directory_are_out_of_reach() {
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        let data = target.data_dir();
        let server_pid = target.server.child.id().unwrap();
        let out = target
            .shell(
                "a",
                &format!(
                    "ls /proc | grep -c '^[0-9]'; cat /proc/{server_pid}/environ /proc/{server_pid}/cmdline; \
                     grep -ra sk-cana''ry /proc/[0-9]*/environ /proc/[0-9]*/cmdline; \
                     ls {data} {data}/okcvm.redb {data}/tokens.json; umount -l /proc; \
                     grep -ra sk-cana''ry /proc/[0-9]*/environ; env | grep -i key; echo end",
                    data = data.display()
                ),
            )
            .await;
        assert!(!out.contains(SECRET_KEY), "{}: {out}", target.who());
        assert!(!out.contains("sk-canary"), "{}: {out}", target.who());
        assert!(out.contains("No such file or directory"), "{out}");
        assert!(out.contains("end"), "{out}");
        // Its own pid namespace: a handful of processes, none of them the server.
        let visible: usize = out.lines().next().unwrap().trim().parse().unwrap();
        assert!(
            visible <= 6,
            "{}: {visible} processes visible: {out}",
            target.who()
        );
        // The files are there on the host: the jail just cannot see them.
        assert!(data.join("okcvm.redb").exists());
    }
}

#[tokio::test]
async fn a_canary_elsewhere_on_the_host_and_every_folder_outside_the_runtime_stay_hidden() {
    let canary_dir = tempfile::tempdir().unwrap();
    let canary = canary_dir.path().join("canary.txt");
    std::fs::write(&canary, "host-canary-contents").unwrap();
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        let out = target
            .shell(
                "a",
                &format!(
                    "cat {}; cat /etc/shadow; ls -d /root /home /var/lib /srv /opt /work /boot 2>&1 | grep -vc 'No such'; \
                     ls /etc/ssl; cat /etc/passwd | cut -d: -f1",
                    canary.display()
                ),
            )
            .await;
        assert!(
            !out.contains("host-canary-contents"),
            "{}: {out}",
            target.who()
        );
        assert!(!out.contains("root:$"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.contains(&"0"),
            "folders of the host are visible: {out}"
        );
        assert!(
            !lines.contains(&"private"),
            "/etc/ssl/private is visible: {out}"
        );
        assert!(lines.contains(&"okcomputer"), "{out}");
    }
}

#[tokio::test]
async fn another_sessions_workspace_files_and_python_memory_are_out_of_reach() {
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        target
            .shell(
                "alice",
                "echo alice-file-secret > /mnt/okcomputer/secret.txt",
            )
            .await;
        let alice = target
            .python(
                "alice",
                "secret = 'alice-memory-' + 'secret-value'\nimport os\nos.getpid()",
            )
            .await;
        assert!(alice.starts_with("Out: "), "{alice}");
        let alice_ws = target.data_dir().join("workspaces/local/alice");
        assert!(alice_ws.join("secret.txt").exists());
        // Bob tries the host path of Alice's workspace, the relative way out of his own, and
        // every process he can see, memory included.
        let bob = target
            .python(
                "bob",
                &format!(
                    "import os, re\nfound = []\nfor path in ['{}/secret.txt', '/mnt/okcomputer/../alice/secret.txt', '/mnt/alice/secret.txt']:\n    try:\n        found.append(open(path).read())\n    except OSError as e:\n        found.append(type(e).__name__)\nfor pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]:\n    try:\n        maps = open(f'/proc/{{pid}}/maps').read().splitlines()\n        mem = open(f'/proc/{{pid}}/mem', 'rb')\n        for line in maps:\n            m = re.match(r'([0-9a-f]+)-([0-9a-f]+) rw', line)\n            if m:\n                start, end = int(m[1], 16), int(m[2], 16)\n                try:\n                    mem.seek(start)\n                    if b'alice-memory-secret-value' in mem.read(min(end - start, 1 << 24)):\n                        found.append('alice memory in ' + pid)\n                except OSError:\n                    pass\n    except OSError:\n        pass\nprint(found, len([p for p in os.listdir('/proc') if p.isdigit()]))",
                    alice_ws.display()
                ),
            )
            .await;
        assert!(
            !bob.contains("alice-file-secret"),
            "{}: {bob}",
            target.who()
        );
        assert!(!bob.contains("alice memory"), "{}: {bob}", target.who());
        assert!(bob.contains("FileNotFoundError"), "{bob}");
    }
}

#[tokio::test]
async fn nothing_outside_the_workspace_and_tmp_can_be_written_and_mounts_are_refused() {
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        let out = target
            .shell(
                "a",
                "for p in /usr/x /etc/x /x /mnt/x /run/okcvm/x /proc/x; do touch $p 2>/dev/null && echo wrote $p; done; \
                 touch /tmp/t /mnt/okcomputer/w && echo wrote-allowed; \
                 mount -o remount,rw / 2>/dev/null && echo remounted; mount -t tmpfs none /mnt 2>/dev/null && echo mounted; \
                 umount -l /proc 2>/dev/null && echo unmounted; unshare -U true 2>/dev/null && echo unshared; \
                 { echo $$ > /sys/fs/cgroup/pids/cgroup.procs; } 2>/dev/null && echo moved; echo end",
            )
            .await;
        assert!(
            out.starts_with("wrote-allowed\nend\n"),
            "{}: {out}",
            target.who()
        );
    }
}

#[tokio::test]
async fn a_fork_bomb_is_contained_and_the_server_keeps_answering() {
    for uid in server_users() {
        let target = Target::start(uid, &[("OKCVM_WORKSPACE__LIMITS__PROCESSES", "64")]).await;
        let marker = format!("okcvm-bomb-{}", std::process::id());
        let out = target
            .call(
                "a",
                "shell",
                json!({"command": format!("# {marker}\nb() {{ b | b & }}; b; sleep 3"), "timeout": 6000}),
            )
            .await;
        assert!(
            out.contains("Resource temporarily unavailable") || out.contains("retry"),
            "{}: {out:.400}",
            target.who()
        );
        assert!(target.healthy().await, "{}", target.who());
        eventually("the bomb's processes are gone", || {
            !host_process_with(&marker)
        })
        .await;
    }
}

#[tokio::test]
async fn a_python_flood_leaves_the_server_small_and_a_timed_out_cell_leaves_nothing_running() {
    for uid in server_users() {
        let target = Target::start(uid, &[("OKCVM_WORKSPACE__PYTHON_TIMEOUT_S", "3")]).await;
        let before = target.server.rss_mib();
        // 100 MB to the kernel's streams and 640 MB straight into its answer channel.
        let flood = target
            .python(
                "a",
                "import os, sys\nchunk = 'y' * (1 << 20)\nfor _ in range(50):\n    sys.__stdout__.write(chunk)\n    print(chunk)\nfor fd in range(3, 8):\n    try:\n        for _ in range(128):\n            os.write(fd, b'z' * (1 << 20))\n    except OSError:\n        pass",
            )
            .await;
        let after = target.server.rss_mib();
        assert!(
            after < before + 100.0,
            "{}: RSS went from {before:.0} MiB to {after:.0} MiB",
            target.who()
        );
        assert!(flood.chars().count() < 12_000, "{}", flood.len());
        let marker = format!("okcvm-cell-child-{}", std::process::id());
        let out = target
            .python(
                "a",
                &format!("import subprocess, time\nsubprocess.Popen(['bash', '-c', 'exec -a {marker} sleep 1000'])\nsubprocess.Popen(['bash', '-c', 'setsid bash -c \"exec -a {marker} sleep 1001\" &'])\ntime.sleep(60)"),
            )
            .await;
        assert!(out.contains("KeyboardInterrupt"), "{out}");
        eventually("the cell's processes are gone", || {
            !host_process_with(&marker)
        })
        .await;
        assert_eq!(target.python("a", "1 + 1").await, "Out: 2");
    }
}

#[tokio::test]
async fn the_disk_quota_refuses_writes_until_files_are_removed() {
    for uid in server_users() {
        let target = Target::start(uid, &[("OKCVM_WORKSPACE__QUOTA_MB", "20")]).await;
        let filled = target
            .shell(
                "a",
                "head -c 30000000 /dev/zero > /mnt/okcomputer/big.bin; echo wrote",
            )
            .await;
        assert!(
            filled.contains("over its disk quota"),
            "{}: {filled}",
            target.who()
        );
        let refused = target
            .call(
                "a",
                "write_file",
                json!({"file_path": "/mnt/okcomputer/more.txt", "content": "x"}),
            )
            .await;
        assert!(refused.contains("Remove at least"), "{refused}");
        let python = target.python("a", "1").await;
        assert!(python.contains("over its disk quota"), "{python}");
        let blocked = target
            .shell("a", "echo more > /mnt/okcomputer/more.txt || echo blocked")
            .await;
        assert!(blocked.contains("blocked"), "{blocked}");
        assert!(!target
            .data_dir()
            .join("workspaces/local/a/more.txt")
            .metadata()
            .is_ok_and(|m| m.len() > 0));
        let freed = target
            .shell("a", "rm /mnt/okcomputer/big.bin && echo removed")
            .await;
        assert!(freed.starts_with("removed"), "{freed}");
        let written = target
            .call(
                "a",
                "write_file",
                json!({"file_path": "/mnt/okcomputer/more.txt", "content": "x"}),
            )
            .await;
        assert!(!written.contains("quota"), "{written}");
    }
}

#[tokio::test]
async fn the_servers_port_and_the_hosts_loopback_are_unreachable_from_the_jail() {
    let listener = counting_listener("127.0.0.1");
    let port = listener.port;
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        let server_port = target.port();
        let out = target
            .shell(
                "a",
                &format!(
                    "curl -sS -m 5 http://127.0.0.1:{server_port}/api/health; echo; \
                     curl -sS -m 5 -X POST http://127.0.0.1:{server_port}/api/config -d '{{}}'; echo; \
                     curl -sS -m 5 http://127.0.0.1:{port}/; echo; \
                     curl -sS -m 5 --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:{server_port}/api/health; echo; \
                     python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=5)\" 2>&1 | tail -1; \
                     ip -o link | cut -d: -f2 | sed 's/^ */link:/'"
                ),
            )
            .await;
        assert!(!out.contains("\"status\""), "{}: {out}", target.who());
        assert!(!out.contains("listener-reply"), "{out}");
        assert!(out.contains("refused by the network guard"), "{out}");
        // Marked, since curl's error lines (on stderr, read with the output) may break
        // anywhere.
        let links: Vec<&str> = out
            .lines()
            .filter_map(|l| l.trim().strip_prefix("link:"))
            .collect();
        assert_eq!(links, ["lo"], "{out}");
    }
    assert_eq!(listener.connections(), 0);
}

#[tokio::test]
async fn curl_and_python_reach_an_allowed_server_through_the_proxy_and_are_refused_elsewhere() {
    let allowed_server = counting_listener("127.0.0.2");
    let refused_server = counting_listener("127.0.0.3");
    let (allowed, refused) = (allowed_server.port, refused_server.port);
    for uid in server_users() {
        let target = Target::start(uid, &[("OKCVM_WEB__ALLOW", r#"["127.0.0.2"]"#)]).await;
        let out = target
            .shell(
                "a",
                &format!(
                    "curl -sS -m 10 http://127.0.0.2:{allowed}/; echo; \
                     python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.2:{allowed}/', timeout=10).read().decode())\"; \
                     curl -sS -m 10 http://127.0.0.3:{refused}/; echo; \
                     python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.3:{refused}/', timeout=10)\" 2>&1 | tail -1; \
                     curl -sS -m 10 https://127.0.0.3:{refused}/ 2>&1; echo"
                ),
            )
            .await;
        let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], "listener-reply", "{}: {out}", target.who());
        assert_eq!(lines[1], "listener-reply", "{out}");
        assert!(
            lines[2].starts_with(
                "refused by the network guard: 127.0.0.3 resolves to 127.0.0.3, a loopback address"
            ),
            "{out}"
        );
        assert!(
            lines[3].contains("HTTP Error 403: refused by the network guard"),
            "{out}"
        );
        assert!(
            lines[4].contains("CONNECT tunnel failed, response 403"),
            "{out}"
        );
    }
    assert!(allowed_server.connections() >= 2);
    assert_eq!(refused_server.connections(), 0);
}

/// A page that opens WebSockets to `blocked` and `allowed`, both on loopback.
fn websocket_page(blocked: u16, allowed: u16) -> String {
    format!(
        "<html><body><h1>ws</h1><script>\
         new WebSocket('ws://127.0.0.1:{blocked}/');\
         new WebSocket('ws://localhost:{blocked}/');\
         new WebSocket('ws://127.0.0.2:{allowed}/');\
         </script></body></html>"
    )
}

#[tokio::test]
async fn websockets_from_a_page_and_from_slides_go_through_the_guard() {
    let blocked_server = counting_listener("127.0.0.1");
    let allowed_server = counting_listener("127.0.0.2");
    let (blocked, allowed) = (blocked_server.port, allowed_server.port);
    let page = page_server("127.0.0.2", websocket_page(blocked, allowed));
    for uid in server_users() {
        let target = Target::start(uid, &[("OKCVM_WEB__ALLOW", r#"["127.0.0.2"]"#)]).await;
        let visited = target
            .call(
                "a",
                "browser_visit",
                json!({"url": format!("http://127.0.0.2:{page}/"), "citation_id": 1}),
            )
            .await;
        assert!(visited.contains("ws"), "{}: {visited}", target.who());
        // The allowed listener proves the sockets were really attempted.
        eventually("the page's allowed WebSocket to connect", || {
            allowed_server.connections() >= 1
        })
        .await;
        let after_page = allowed_server.connections();
        let html = format!(
            "<html><body><section class=\"ppt-slide\"><h1>Deck</h1></section>{}</body></html>",
            websocket_page(blocked, allowed)
                .trim_start_matches("<html><body>")
                .trim_end_matches("</body></html>")
        );
        let slides = target
            .call("a", "slides_generator", json!({"content": html}))
            .await;
        assert!(slides.contains(".pptx"), "{slides}");
        eventually("the slides' allowed WebSocket to connect", || {
            allowed_server.connections() > after_page
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(blocked_server.connections(), 0);
}

#[tokio::test]
async fn the_browser_has_no_devtools_port_and_a_network_of_its_own() {
    let page = page_server("127.0.0.2", "<html><body>hello</body></html>".into());
    for uid in server_users() {
        let target = Target::start(uid, &[("OKCVM_WEB__ALLOW", r#"["127.0.0.2"]"#)]).await;
        target
            .call(
                "a",
                "browser_visit",
                json!({"url": format!("http://127.0.0.2:{page}/"), "citation_id": 1}),
            )
            .await;
        let data = target.data_dir().to_string_lossy().into_owned();
        let mut browsers = 0;
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = String::from_utf8_lossy(
                &std::fs::read(entry.path().join("cmdline")).unwrap_or_default(),
            )
            .replace('\0', " ");
            // The browser itself (not the bubblewrap that started it, which stays outside).
            if !cmdline.contains("--remote-debugging-pipe")
                || !cmdline.contains("/tmp/profile")
                || cmdline.contains("bwrap")
                || cmdline.contains("jail-bridge")
            {
                continue;
            }
            let Ok(net) = std::fs::read_link(entry.path().join("ns/net")) else {
                continue;
            };
            browsers += 1;
            assert!(!cmdline.contains("--remote-debugging-port"), "{cmdline}");
            assert!(!cmdline.contains(&data), "{cmdline}");
            assert_ne!(
                net,
                std::fs::read_link("/proc/self/ns/net").unwrap(),
                "{}: the browser shares the host's network",
                target.who()
            );
        }
        assert!(browsers > 0, "{}: no jailed browser found", target.who());
        // And from a jail, nothing listens but the bridge.
        let out = target
            .shell(
                "a",
                "awk 'NR>1 && $4==\"0A\" {print $2}' /proc/net/tcp /proc/net/tcp6",
            )
            .await;
        assert_eq!(out.lines().next(), Some("0100007F:0C38"), "{out}");
        for url in [
            "file:///etc/passwd",
            "chrome://version",
            "view-source:http://127.0.0.2/",
        ] {
            let refused = target
                .call("a", "browser_visit", json!({"url": url, "citation_id": 2}))
                .await;
            assert!(refused.contains("is not an address"), "{url}: {refused}");
        }
    }
}

#[tokio::test]
async fn everything_the_tools_do_still_works_in_the_jail() {
    for uid in server_users() {
        let target = Target::start(uid, &[]).await;
        let shell = target
            .shell("a", "mkdir -p /mnt/okcomputer/output/site && echo '<h1>hi</h1>' > /mnt/okcomputer/output/site/index.html && python3 -c 'import matplotlib, PIL, numpy, pandas, cv2; print(\"libs\")'")
            .await;
        assert!(shell.starts_with("libs"), "{}: {shell}", target.who());
        let figure = target
            .python(
                "a",
                "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nprint('drawn')",
            )
            .await;
        assert!(
            figure.contains("Images saved: /mnt/okcomputer/output/"),
            "{figure}"
        );
        let deployed = target
            .call(
                "a",
                "deploy_website",
                json!({"type": "static", "local_dir": "/mnt/okcomputer/output/site"}),
            )
            .await;
        assert!(deployed.contains("/sites/"), "{deployed}");
        assert!(path_owned_by(
            &target
                .data_dir()
                .join("workspaces/local/a/output/site/index.html"),
            target.uid
        ));
    }
}

/// Whether the file belongs to the server's user (the jail's files are the server's, outside).
fn path_owned_by(path: &Path, uid: Option<u32>) -> bool {
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(path).unwrap());
    owner == uid.unwrap_or_else(|| nix::unistd::Uid::effective().as_raw())
}

#[tokio::test]
async fn where_the_jail_cannot_be_built_commands_and_python_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (tool, args) in [
        ("shell", r#"{"command": "echo ran-on-the-host"}"#),
        ("ipython", r#"{"code": "print('ran-on-the-host')"}"#),
    ] {
        // No bubblewrap on this PATH: the machine cannot build the jail.
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_okcvm"))
            .args(["tools", "call", tool, args, "--data-dir"])
            .arg(dir.path())
            .env_clear()
            .env("PATH", "/nonexistent")
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{tool}: {stdout}");
        assert!(!stdout.contains("ran-on-the-host"), "{tool}: {stdout}");
        assert!(
            stderr.contains("agent code cannot run here: bubblewrap is not installed")
                && stderr.contains("workspace.sandbox: none"),
            "{tool}: {stderr}"
        );
    }
}
