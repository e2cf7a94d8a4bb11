//! `shipper follow` without loss (issue 10): partial lines, lines written in two parts, the
//! checkpoint across restarts, truncation and rotation, back-pressure while the cluster is
//! down, stdin runs. Against the project's `_bulk` server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shipper::follow::{FollowOptions, Follower, Source};

use crate::bulk_server::{BulkServer, Faults, Settings};
use crate::faults::naming;
use crate::support;

const GROUP: &str = "/aws/lambda/vocab-api-local";

fn target(ns: &str) -> String {
    format!("logs-cloudwatch.vocab_api_local-{ns}")
}

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn tempdir(tag: &str) -> Dir {
    let p = std::env::temp_dir().join(format!(
        "shipper-follow-{tag}-{}-{}",
        std::process::id(),
        support::free_port()
    ));
    std::fs::create_dir_all(&p).unwrap();
    Dir(p)
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn options(checkpoint: Option<PathBuf>, once: bool) -> FollowOptions {
    let mut o = FollowOptions::new(GROUP, "local");
    o.flush = Duration::from_millis(100);
    o.once = once;
    o.checkpoint = checkpoint;
    o
}

/// Messages stored in `target`, sorted.
fn messages(s: &BulkServer, target: &str) -> Vec<String> {
    let mut m: Vec<String> = s
        .docs(target)
        .into_iter()
        .map(|(_, d)| d["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    m.sort();
    m
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Follows `file` in the background (the shipper lives in the task).
fn spawn_follower(
    url: String,
    ns: &'static str,
    opts: FollowOptions,
    file: PathBuf,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let sh = support::shipper(&support::connection(&url), naming(ns));
        let mut f = Follower::open(&sh, opts, Source::File(file)).await.unwrap();
        f.run().await.unwrap();
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_line_waits_for_its_newline_and_a_line_written_in_two_parts_arrives_whole_issue_10()
 {
    let s = BulkServer::with_setup(Settings::default()).await;
    let dir = tempdir("partial");
    let file = dir.0.join("app.log");
    append(&file, "first\nsec");
    let task = spawn_follower(s.url.clone(), "partial", options(None, false), file.clone());
    until("the first line", || s.count(&target("partial")) == 1).await;
    // Several flush intervals pass with half a line in the file: it is neither shipped as it
    // is nor lost.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(messages(&s, &target("partial")), vec!["first"]);
    append(&file, "ond\n");
    until("the second line", || s.count(&target("partial")) == 2).await;
    task.abort();
    assert_eq!(messages(&s, &target("partial")), vec!["first", "second"]);
}

#[tokio::test]
async fn a_restart_resumes_at_the_checkpoint_and_a_truncated_file_is_read_again_with_new_ids_issue_10()
 {
    let s = BulkServer::with_setup(Settings::default()).await;
    let dir = tempdir("ck");
    let file = dir.0.join("app.log");
    let ck = dir.0.join("app.ck");
    let sh = support::shipper(&support::connection(&s.url), naming("ck"));
    let run = |opts: FollowOptions| {
        let sh = &sh;
        let file = file.clone();
        async move {
            let mut f = Follower::open(sh, opts, Source::File(file)).await.unwrap();
            f.run().await.unwrap();
            f.summary
        }
    };
    append(
        &file,
        &(0..10).map(|i| format!("line {i}\n")).collect::<String>(),
    );
    assert_eq!(run(options(Some(ck.clone()), true)).await.received, 10);
    append(
        &file,
        &(10..15).map(|i| format!("line {i}\n")).collect::<String>(),
    );

    // A restart: only what came after the checkpoint is read and sent.
    let second = run(options(Some(ck.clone()), true)).await;
    assert_eq!(second.received, 5);
    assert_eq!(second.stats.already_present, 0);
    assert_eq!(s.count(&target("ck")), 15);

    // copytruncate: the file is emptied and written again, shorter than the checkpoint.
    std::fs::write(
        &file,
        "after truncation 1\nafter truncation 2\nafter truncation 3\n",
    )
    .unwrap();
    let third = run(options(Some(ck.clone()), true)).await;
    assert_eq!(
        (third.received, third.stats.indexed),
        (3, 3),
        "new ids, not 409s"
    );
    // Emptied and written again past the checkpoint's offset: its first bytes changed.
    std::fs::write(
        &file,
        (0..40)
            .map(|i| format!("rewritten {i:02}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let fourth = run(options(Some(ck.clone()), true)).await;
    assert_eq!((fourth.received, fourth.stats.indexed), (40, 40));
    assert_eq!(s.count(&target("ck")), 58);
    assert!(s.duplicates().is_empty());
    assert_eq!(s.stats().items(409), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_file_is_finished_then_the_new_one_is_read_from_its_start_issue_10() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let dir = tempdir("rot");
    let file = dir.0.join("app.log");
    append(&file, "old 1\nold 2\n");
    let task = spawn_follower(
        s.url.clone(),
        "rot",
        options(Some(dir.0.join("ck")), false),
        file.clone(),
    );
    until("the old lines", || s.count(&target("rot")) == 2).await;
    // The writer's last words before logrotate renames the file: no newline.
    append(&file, "old 3 without newline");
    std::fs::rename(&file, dir.0.join("app.log.1")).unwrap();
    append(&file, "new 1\nnew 2\n");
    until("the new file's lines", || s.count(&target("rot")) == 5).await;
    task.abort();
    assert_eq!(
        messages(&s, &target("rot")),
        vec!["new 1", "new 2", "old 1", "old 2", "old 3 without newline"]
    );
    assert!(s.duplicates().is_empty());
}

#[tokio::test]
async fn while_the_cluster_is_down_reading_stops_at_one_batch_and_everything_arrives_later_issue_10()
 {
    let s = BulkServer::with_setup(Settings::default()).await;
    let dir = tempdir("bp");
    let file = dir.0.join("app.log");
    let line = format!("{}\n", "x".repeat(200));
    append(&file, &line.repeat(3000));
    s.set_faults(Faults {
        always_503: true,
        ..Faults::default()
    });
    let mut sh = support::shipper(&support::connection(&s.url), naming("bp"));
    sh.health_docs = false;
    let mut opts = options(None, true);
    opts.max_batch_lines = 500;
    opts.retry = Duration::from_secs(1);
    let mut f = Follower::open(&sh, opts, Source::File(file.clone()))
        .await
        .unwrap();

    // The cluster stays down for a while.
    let _ = tokio::time::timeout(Duration::from_secs(3), f.run()).await;

    assert!(f.stats.failed_attempts > 0);
    // One batch, and what one 64 KiB read added to it.
    assert!(
        f.stats.max_held <= 500 + 64 * 1024 / line.len() + 1,
        "{:?}",
        f.stats
    );
    assert!(
        f.stats.bytes_read <= (500 * line.len() + 64 * 1024) as u64,
        "reading stopped at one batch: {:?}",
        f.stats
    );
    assert_eq!(s.count(&target("bp")), 0);

    // It comes back: everything is delivered, once.
    s.set_faults(Faults::default());
    f.run().await.unwrap();
    assert_eq!(s.count(&target("bp")), 3000);
    assert!(s.duplicates().is_empty());
}

#[tokio::test]
async fn each_stdin_run_is_new_lines_with_new_ids_and_a_last_line_without_newline_is_kept_issue_10()
{
    let s = BulkServer::with_setup(Settings::default()).await;
    let sh = support::shipper(&support::connection(&s.url), naming("stdin"));
    for run in 0..2 {
        let input = std::io::Cursor::new(b"a\nb\nlast without newline".to_vec());
        let mut f = Follower::open(&sh, options(None, true), Source::Stream(Box::new(input)))
            .await
            .unwrap();
        f.run().await.unwrap();
        assert_eq!(f.summary.stats.indexed, 3, "run {run}");
        // One health document per delivered batch, each its own.
        assert_eq!(f.stats.batches, 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(s.count(&target("stdin")), 6);
    assert_eq!(s.count("logs-shipper.health-stdin"), 2);
    assert!(messages(&s, &target("stdin")).contains(&"last without newline".to_owned()));
}
