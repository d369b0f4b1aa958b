//! Benchmark: what many slow downloads of one large image cost the server in memory.
//!
//! Starts `refinery` (offline, on the embedded store in a temporary folder, on the allocator the
//! binary runs with), stores one image of `IMAGE_MB` megabytes (default 16; random bytes, as
//! incompressible as a 4K PNG) and has `DOWNLOADS` clients (default 32) fetch it at once, each
//! reading 64 KiB every 5 ms (about 13 MB/s, a phone on a good tunnel), while the process's
//! resident memory is sampled every 10 ms. Prints the peak growth over the resident memory
//! measured just before (after one download to warm up), and that growth as a share of
//! `DOWNLOADS` × the image: 100 % is every download holding the whole image in memory until its
//! last byte is sent, near 0 % is memory that does not grow with the image or the downloads.
//! Run: `cargo bench -p api-tests --bench downloads`. docs/operations.md has the figures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use api_tests::bench::env_u64;
use api_tests::storage::{Backend, TestStorage, image_to_store};
use contracts::paths;
use server::config::Settings;
use server::startup::Application;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The allocator the `refinery` binary runs with (`crates/server/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's resident memory (`VmRSS`), in bytes; 0 where it cannot be read.
fn resident() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// One slow client: the whole image over HTTP/1.1, 64 KiB at a time with a pause between.
/// Returns the bytes of the response (headers and body).
async fn slow_download(address: SocketAddr, path: &str, pause: Duration) -> u64 {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buffer).await.expect("reads");
        if n == 0 {
            return total;
        }
        total += n as u64;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

fn main() {
    server::memory::no_huge_pages();
    let image_mb = env_u64("IMAGE_MB", 16).max(1);
    let downloads = env_u64("DOWNLOADS", 32).max(1) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let storage = TestStorage::on(Backend::Embedded).await;
        let mut settings = Settings::for_tests();
        storage.apply(&mut settings);
        // Room for the image, and no rate limit between one address and its downloads.
        settings.image_store_bytes = usize::try_from(image_mb * 4 * 1024 * 1024).expect("fits");
        settings.rate_limit_ip_per_minute = Some(u32::MAX / 2);
        let app = Application::build(settings).await.expect("refinery starts");
        let address = app.address();
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped(std::future::pending()));

        let size = usize::try_from(image_mb * 1024 * 1024).expect("fits");
        let bytes: Vec<u8> = (0..size)
            .scan(0x2545_f491_u32, |seed, _| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                Some(seed.to_le_bytes()[0])
            })
            .collect();
        let image_id = state
            .images
            .insert(image_to_store(bytes))
            .await
            .expect("the image is stored");
        let path = paths::image(&image_id);

        let whole = slow_download(address, &path, Duration::ZERO).await;
        assert!(whole >= size as u64, "the whole image came: {whole} bytes");
        let before = resident();
        let peak = Arc::new(AtomicU64::new(before));
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(resident(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let started = Instant::now();
        let clients: Vec<_> = (0..downloads)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(
                    async move { slow_download(address, &path, Duration::from_millis(5)).await },
                )
            })
            .collect();
        let mut received = 0;
        for client in clients {
            received += client.await.expect("a download");
        }
        let elapsed = started.elapsed();
        sampler.abort();
        let peak = peak.load(Ordering::Relaxed).max(resident());
        assert!(
            received >= (size * downloads) as u64,
            "every download got the whole image"
        );
        let grown = peak.saturating_sub(before);
        let held = (size * downloads) as f64;
        println!(
            "downloads: {downloads} slow clients (64 KiB every 5 ms) fetching one {image_mb} MB image at once, in {:.2} s",
            elapsed.as_secs_f64()
        );
        println!(
            "resident memory: {:.0} MB before, peak {:.0} MB: grew {:.0} MB, {:.1} % of {downloads} × the image ({:.0} MB)",
            before as f64 / 1e6,
            peak as f64 / 1e6,
            grown as f64 / 1e6,
            100.0 * grown as f64 / held,
            held / 1e6
        );
    });
}
