//! How long one request may hold a connection: its headers (`HEADER_TIMEOUT_SECS`), its body
//! and answer (`REQUEST_TIMEOUT_SECS`, else 408), with the job long-poll exempt.

use std::time::Duration;

use api_tests::storage::image_to_store;
use contracts::{JobStatus, JobView, paths};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with};

/// Far longer than any limit under test: reaching it means the server never let go.
const PATIENCE: Duration = Duration::from_secs(15);

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connected")
}

/// Everything the server sends until it closes the connection; panics if it never does.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    String::from_utf8_lossy(&read_bytes_until_closed(stream).await).into_owned()
}

/// [`read_until_closed`], byte for byte.
async fn read_bytes_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server still holds the connection");
    received
}

#[tokio::test]
async fn a_connection_that_trickles_its_headers_or_sends_nothing_is_closed() {
    let app = spawn_app_with(|s| s.header_read_timeout = Duration::from_secs(1)).await;
    let mut silent = connect(&app).await;
    let mut trickling = connect(&app).await;
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .expect("written");
    read_until_closed(&mut silent).await;
    read_until_closed(&mut trickling).await;
}

#[tokio::test]
async fn a_keep_alive_connection_left_idle_is_closed_after_its_answer() {
    let app = spawn_app_with(|s| s.header_read_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("written");
    let received = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}

#[tokio::test]
async fn a_body_that_never_finishes_arriving_gets_408_request_timeout() {
    let app = spawn_app_with(|s| s.request_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&app).await;
    let body = br#"{"templateId": "general-cinematic", "idea": "a heron"#;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        paths::SESSION_START,
        body.len() + 100
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("part of the body");
    let received = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(
        received.contains(r#""code":"request_timeout""#),
        "{received}"
    );
}

#[tokio::test]
async fn the_long_poll_waits_past_the_request_timeout() {
    let app = spawn_app_with(|s| {
        s.request_timeout = Duration::from_secs(1);
        s.offline.latency = Duration::from_millis(1500);
    })
    .await;
    app.ready_session("a heron at dawn").await;
    let job = app.generate(json!({})).await;
    let response = app
        .get(&format!("{}?wait=30", paths::job(&job.job_id)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: JobView = response.json().await.expect("a job view");
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
}

/// A download left hanging (the reader takes no more bytes) does not hold its connection for
/// ever: once nothing could be sent for `REQUEST_TIMEOUT_SECS`, the server lets go.
#[tokio::test]
async fn a_reader_that_stops_taking_an_image_is_let_go() {
    let limit = Duration::from_secs(1);
    let app = spawn_app_with(|s| s.request_timeout = limit).await;
    // Far more than the socket buffers between the two ends hold.
    let size = 32 * 1024 * 1024;
    let image_id = app
        .state
        .images
        .insert(image_to_store(vec![0u8; size]))
        .await
        .expect("stored");
    let mut stream = connect(&app).await;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        paths::image(&image_id)
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    // The stall itself: the reader takes nothing for three times the limit.
    tokio::time::sleep(limit * 3).await;
    let received = read_bytes_until_closed(&mut stream).await;
    assert!(received.starts_with(b"HTTP/1.1 200"));
    assert!(
        received.len() < size,
        "the server let go before the last byte: {} of {size} bytes came",
        received.len()
    );
}
