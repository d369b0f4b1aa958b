//! The curl recipe of docs/api.md (scripts/curl-flow) runs against the real server.

use std::process::Command;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_curl_recipe_downloads_a_png() {
    let app = spawn_app().await;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!("refinery-curl-{}.png", std::process::id()));
    let script = repo.join("scripts/curl-flow");
    let address = app.address.clone();
    let out_arg = out.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .arg(address)
            .arg(out_arg)
            .output()
    })
    .await
    .expect("joined")
    .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "curl-flow failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Q2 of 3") && stdout.contains("status: ready"),
        "{stdout}"
    );
    let png = std::fs::read(&out).expect("the image was saved");
    let _ = std::fs::remove_file(&out);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
}
