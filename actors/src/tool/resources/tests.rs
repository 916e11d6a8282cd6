use serde_json::json;

use super::*;
use crate::tool::test_support::{context_in, eventually, kernel_alive, kernel_lock, HOLD_LOCK};

#[test]
fn a_url_keeps_its_citation_number_and_numbers_belong_to_one_session() {
    let (a, b) = (SessionResources::default(), SessionResources::default());
    assert_eq!(a.cite("https://one.example/"), 1);
    assert_eq!(a.cite("https://two.example/"), 2);
    assert_eq!(a.cite("https://one.example/"), 1);
    assert_eq!(a.citation(2).as_deref(), Some("https://two.example/"));
    assert_eq!(a.citation(0), None);
    assert_eq!(a.citation(3), None);
    assert_eq!(
        b.citation(1),
        None,
        "another session's citations are its own"
    );
    assert_eq!(b.cite("https://two.example/"), 1);
}

#[tokio::test]
async fn dropping_a_sessions_resources_kills_its_python_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let root = ctx.workspace.root().to_path_buf();
    let ipython = super::super::python::tools().remove(0);
    ipython
        .call(&ctx, json!({ "code": HOLD_LOCK }))
        .await
        .unwrap();
    let lock = kernel_lock(&root);
    assert!(kernel_alive(&lock), "the interpreter holds its lock");
    assert!(ctx.resources.kernel.lock().await.is_some());
    drop(ctx);
    eventually("the interpreter exiting", || !kernel_alive(&lock)).await;
}
