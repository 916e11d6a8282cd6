//! What the jail does and does not isolate, in words, for the startup log and `/api/health`.

use super::{Isolation, Jail, SANDBOX_UID};

/// What is and is not isolated (see [`Jail::report`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IsolationReport {
    /// `bubblewrap`, `none` (the operator chose the host), `unavailable`, or `preparing` in
    /// the first moments after start.
    pub sandbox: &'static str,
    /// `proxy`, `off` or `host`.
    pub network: &'static str,
    /// What the jail holds.
    pub isolated: Vec<String>,
    /// What it does not: shown as warnings.
    pub not_isolated: Vec<String>,
}

impl Isolation {
    /// The report's `sandbox`: `bubblewrap`, `none`, `unavailable` or `preparing`.
    pub fn sandbox(&self) -> &'static str {
        match self {
            Isolation::Jailed => "bubblewrap",
            Isolation::Host => "none",
            Isolation::Unavailable(_) => "unavailable",
            Isolation::Preparing => "preparing",
        }
    }
}

impl Jail {
    /// What is and is not isolated, in words, for the startup log and `/api/health`.
    pub fn report(&self) -> IsolationReport {
        // Read once: the jail may be decided between two reads.
        let isolation = self.isolation();
        let mut report = self.isolation_report(isolation);
        // The kernel does not count processes against `ulimit -u` for root (nor in a user
        // namespace root made), so only a pids cgroup holds the limit then.
        if matches!(isolation, Isolation::Jailed | Isolation::Host)
            && nix::unistd::Uid::effective().is_root()
            && !crate::workspace::process_cgroups_available()
        {
            report.not_isolated.push(
                "no writable pids cgroup and the server runs as root: workspace.limits.processes \
                 is not enforced (run as an unprivileged user, or give the server a writable \
                 pids cgroup)"
                    .into(),
            );
        }
        report
    }

    fn isolation_report(&self, isolation: &Isolation) -> IsolationReport {
        let sandbox = isolation.sandbox();
        match isolation {
            Isolation::Jailed => IsolationReport {
                sandbox,
                network: if self.proxied() { "proxy" } else { "off" },
                isolated: vec![
                    format!(
                        "agent code runs as uid {SANDBOX_UID} in its own user, pid, ipc, uts, cgroup and network namespaces, with no capabilities and a seccomp filter"
                    ),
                    "it sees /usr, a few files of /etc, its own workspace and a private /tmp; nothing else of the host".into(),
                    if self.proxied() {
                        "its only network is outbound HTTP(S) through the server's proxy, under the network guard".into()
                    } else {
                        "it has no network".into()
                    },
                ],
                not_isolated: Vec::new(),
            },
            Isolation::Host => IsolationReport {
                sandbox,
                network: "host",
                isolated: vec![
                    "agent code gets a scrubbed environment, its own process group and resource limits".into(),
                ],
                not_isolated: vec![
                    "workspace.sandbox is none: agent code runs on the host as the server's user, and can read and write what that user can, including the data directory and the network".into(),
                ],
            },
            Isolation::Preparing => IsolationReport {
                sandbox,
                network: "off",
                isolated: Vec::new(),
                not_isolated: Vec::new(),
            },
            Isolation::Unavailable(reason) => IsolationReport {
                sandbox,
                network: "off",
                isolated: Vec::new(),
                not_isolated: vec![format!(
                    "the jail cannot be built, so shell commands and Python are refused: {reason}"
                )],
            },
        }
    }
}
