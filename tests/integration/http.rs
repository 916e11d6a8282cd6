//! The HTTP API end to end, one module per route group (`api_*`) or concern: the server runs
//! in-process on 127.0.0.1:0 with the fake model, or as the `okcvm` binary where the test is
//! about the process (`restart`, `crash`, part of `edge` and `tenants`).

mod api_chat;
mod api_config;
mod api_conversations;
mod api_files;
mod api_sessions;
mod api_system;
mod branches;
mod browser_guard;
mod crash;
mod edge;
mod restart;
mod snapshots;
mod tenants;
mod uploads;
mod workspace_changes;

use support::fake_model::FakeModel;
use support::runtime::test_settings;
use support::server::TestServer;

/// The server with the test settings on a new data directory, its chat model `model`; the
/// directory must live as long as the server.
async fn server(model: &FakeModel) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    (server, dir)
}
