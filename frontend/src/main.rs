//! Entry point of the browser build: mounts the app on `<body>`.

#[cfg(target_arch = "wasm32")]
fn main() {
    frontend::mount();
}

/// The UI only runs in a browser; on the host this binary is an empty shell so that
/// `cargo test -p frontend` can build the crate and run the flow tests.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
