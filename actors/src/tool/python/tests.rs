use super::*;
use crate::tool::test_support::context_in;
use crate::SessionKey;

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
}

#[tokio::test]
async fn bang_lines_run_in_the_shell_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    std::fs::write(ctx.workspace.root().join("output/seen.txt"), "x").unwrap();
    let out = run(&ctx, "!ls output\n!echo done").await;
    assert_eq!(out.text, "seen.txt\ndone");
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
}

#[tokio::test]
async fn long_output_is_cut_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = run(&ctx, "print('x' * 25000)").await;
    assert!(
        // The printed line and its newline.
        out.text.contains("[output cut: 25001 characters in all"),
        "{}",
        &out.text[out.text.len() - 100..]
    );
    assert!(out.text.chars().count() < 10_200);
}

#[tokio::test]
async fn sessions_have_their_own_interpreters() {
    let dir = tempfile::tempdir().unwrap();
    let a = context_in(dir.path()).await;
    let mut b = a.clone();
    b.session = SessionKey::new("local", "other");
    b.resources = Arc::default();
    run(&a, "mine = 1").await;
    let out = run(&b, "mine").await;
    assert!(out.text.contains("NameError"), "{}", out.text);
    assert!(a.resources.kernel.lock().await.is_some());
    assert!(b.resources.kernel.lock().await.is_some());
    assert_eq!(run(&a, "mine").await.text, "Out: 1");
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
}

#[tokio::test]
async fn a_flood_written_past_the_kernels_streams_is_bounded_and_the_kernel_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    // 40 MB to the original stdout and to the descriptor: only the bound comes back.
    let out = IPython
        .call(
            &ctx,
            json!({"code": "import os, sys\nchunk = 'y' * (1 << 20)\nfor _ in range(20):\n    sys.__stdout__.write(chunk)\nfor _ in range(20):\n    os.write(1, chunk.encode())\nprint('printed')"}),
        )
        .await
        .unwrap();
    assert!(out.text.starts_with("printed\n"), "{:.200}", out.text);
    assert!(out.text.chars().count() < 10_200);
    assert!(
        out.text.contains("[output cut: 41943048 characters in all"),
        "{}",
        &out.text[out.text.len() - 100..]
    );
    // Writing straight into the kernel's answer channel (320 MB) is taken as a broken kernel,
    // read and dropped, never buffered whole.
    let flooded = IPython
        .call(
            &ctx,
            json!({"code": "import os\nfor fd in range(3, 8):\n    try:\n        os.write(fd, b'z' * (64 << 20))\n    except OSError:\n        pass"}),
        )
        .await;
    match flooded {
        Err(ToolError::Failed(message)) => {
            assert!(message.contains("more than an answer can be"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let again = run(&ctx, "1 + 1").await;
    assert_eq!(again.text, "Out: 2");
}

#[tokio::test]
async fn output_written_to_the_descriptors_by_programs_is_part_of_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_in(dir.path()).await;
    let out = run(
        &ctx,
        "import os\nprint('first', flush=True)\nos.system('echo from a program')",
    )
    .await;
    assert_eq!(out.text, "first\nfrom a program\nOut: 0");
}

#[tokio::test]
async fn a_timed_out_cell_leaves_no_process_it_started_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context_in(dir.path()).await;
    let mut settings = (*ctx.settings).clone();
    settings.workspace.python_timeout_s = 1.0;
    ctx.settings = Arc::new(settings);
    let out = run(
        &ctx,
        "import subprocess, time\nsubprocess.Popen(['sleep', '1000'])\nsubprocess.Popen(['sh', '-c', 'setsid sleep 1001 &'])\nkept = 1\ntime.sleep(30)",
    )
    .await;
    assert!(out.text.contains("KeyboardInterrupt"), "{}", out.text);
    let left = run(
        &ctx,
        "import os\nsorted(open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ').strip() for p in os.listdir('/proc') if p.isdigit() and open(f'/proc/{p}/cmdline').read().startswith('sleep'))",
    )
    .await;
    assert_eq!(left.text, "Out: []");
    assert_eq!(run(&ctx, "kept").await.text, "Out: 1");
}
