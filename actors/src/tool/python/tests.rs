use super::*;
use crate::tool::test_support::context_in;

async fn run(ctx: &ToolContext, code: &str) -> ToolOutput {
    IPython
        .call(ctx, json!({"code": code}))
        .await
        .unwrap_or_else(|e| panic!("{code}: {e}"))
}

#[tokio::test]
async fn variables_and_imports_persist_and_the_last_value_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    run(&ctx, "import math\nx = 41").await;
    let out = run(&ctx, "print('hello')\nmath.floor(x + 1.5)").await;
    assert_eq!(out.text, "hello\nOut: 42");
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn restart_resets_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    run(&ctx, "y = 1").await;
    let out = IPython
        .call(&ctx, json!({"code": "y", "restart": true}))
        .await
        .unwrap();
    assert!(
        out.text.starts_with("The Python environment was restarted"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("NameError: name 'y' is not defined"),
        "{}",
        out.text
    );
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn errors_come_back_as_the_cells_traceback_and_stderr_is_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = run(&ctx, "import sys\nprint('to err', file=sys.stderr)\n1/0").await;
    assert!(out.text.contains("[stderr]\nto err"), "{}", out.text);
    assert!(
        out.text.contains("ZeroDivisionError: division by zero"),
        "{}",
        out.text
    );
    assert!(
        !out.text.contains("kernel"),
        "no kernel frames: {}",
        out.text
    );
    assert_eq!(out.data.unwrap()["error"], true);
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn bang_lines_run_in_the_shell_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    std::fs::write(ctx.workspace.root().join("output/seen.txt"), "x").unwrap();
    let out = run(&ctx, "!ls output\n!echo done").await;
    assert_eq!(out.text, "seen.txt\ndone");
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn a_runaway_cell_is_interrupted_and_the_state_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context_in(dir.path()).await;
    let mut settings = (*ctx.settings).clone();
    settings.workspace.python_timeout_s = 1.0;
    ctx.settings = Arc::new(settings);
    let out = run(&ctx, "kept = 'still here'\nwhile True:\n    pass").await;
    assert!(out.text.contains("KeyboardInterrupt"), "{}", out.text);
    let after = run(&ctx, "kept").await;
    assert_eq!(after.text, "Out: 'still here'");
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn long_output_is_cut_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = run(&ctx, "print('x' * 25000)").await;
    assert!(
        out.text.contains("[output cut: 25000 characters in all"),
        "{}",
        &out.text[out.text.len() - 100..]
    );
    assert!(out.text.chars().count() < 10_200);
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn sessions_have_their_own_interpreters() {
    let dir = tempfile::tempdir().unwrap();
    let a = context_in(dir.path()).await;
    let mut b = a.clone();
    b.session = SessionKey::new("local", "other");
    run(&a, "mine = 1").await;
    let out = run(&b, "mine").await;
    assert!(out.text.contains("NameError"), "{}", out.text);
    assert_eq!(a.kernels.count(), 2);
    a.kernels.stop(&a.session);
    a.kernels.stop(&b.session);
    assert_eq!(a.kernels.count(), 0);
}

#[tokio::test]
async fn a_matplotlib_figure_is_saved_under_output_and_returned_as_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = run(
        &ctx,
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('squares')",
    )
    .await;
    assert_eq!(out.images.len(), 1, "{}", out.text);
    let image = &out.images[0];
    assert!(
        image.path.starts_with("/mnt/okcomputer/output/ipython_"),
        "{}",
        image.path
    );
    assert!(image.path.ends_with(".png"));
    assert!(image.data_base64.starts_with("iVBORw0KGgo"), "a PNG");
    assert!(out.text.contains(&image.path), "{}", out.text);
    ctx.kernels.stop(&ctx.session);
}

#[tokio::test]
async fn a_pil_image_as_the_cells_value_is_saved_and_returned() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = run(
        &ctx,
        "from PIL import Image\nImage.new('RGB', (8, 8), 'red')",
    )
    .await;
    assert_eq!(out.images.len(), 1, "{}", out.text);
    assert!(out.images[0].data_base64.starts_with("iVBORw0KGgo"));
    ctx.kernels.stop(&ctx.session);
}
