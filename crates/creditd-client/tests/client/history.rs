//! History pages, the cursor stream and exports against a live server.

use std::collections::HashSet;

use creditd_client::{
    Credit, EventKind, ExportFormat, ExportLayout, ExportOrder, ExportRequest, HistoryFilter, PageRequest, Usage,
};
use futures_util::TryStreamExt;

use crate::common::{Server, c, org};

/// An org with 1 grant and `usages` usages of 0.01 each: events 1 + usages.
async fn busy_org(client: &creditd_client::Client, id: &str, usages: usize) -> String {
    let o = org(client, id).await;
    client.grant_credits(&o, &Credit::grant(c("1000")), None).await.unwrap();
    for i in 0..usages {
        let mut u = Usage::new(c("0.01"));
        u.ctx.service = Some(if i % 2 == 0 { "even" } else { "odd" }.into());
        client.record_usage(&o, &u, None).await.unwrap();
    }
    o
}

#[tokio::test]
async fn the_stream_follows_cursors_through_every_event_once() {
    let server = Server::start();
    let client = server.client();
    let o = busy_org(&client, "pages", 24).await;

    let events: Vec<_> =
        client.credit_event_pages(&o, HistoryFilter::default(), Some(7)).events().try_collect().await.unwrap();
    assert_eq!(events.len(), 25);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=25).rev().collect::<Vec<_>>(), "newest first, none skipped or repeated");
    assert_eq!(events.last().unwrap().kind, EventKind::Grant);

    // Page by page: 7, 7, 7, 4, then nothing.
    let mut pages = client.credit_event_pages(&o, HistoryFilter::default(), Some(7));
    let mut sizes = Vec::new();
    while let Some(p) = pages.next_page().await.unwrap() {
        assert_eq!(p.limit, 7);
        sizes.push(p.events.len());
    }
    assert_eq!(sizes, vec![7, 7, 7, 4]);
    assert!(pages.next_page().await.unwrap().is_none());

    // Filters: usage of the service "odd" only (12 of the 24).
    let filter =
        HistoryFilter { event_type: vec![EventKind::Usage], service: vec!["odd".into()], ..Default::default() };
    let odd: Vec<_> = client.credit_event_pages(&o, filter, Some(5)).events().try_collect().await.unwrap();
    assert_eq!(odd.len(), 12);
    assert!(odd.iter().all(|e| e.kind == EventKind::Usage && e.service.as_deref() == Some("odd")));
    assert_eq!(odd.iter().map(|e| e.id.clone()).collect::<HashSet<_>>().len(), 12);

    // One page by offset.
    let page = client
        .list_credit_events(
            &o,
            &HistoryFilter::default(),
            &PageRequest { limit: Some(3), offset: Some(2), cursor: None },
        )
        .await
        .unwrap();
    assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![23, 22, 21]);

    // A bad page size is the server's validation error.
    let e = client
        .list_credit_events(&o, &HistoryFilter::default(), &PageRequest { limit: Some(101), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(creditd_client::ErrorCode::ValidationError), "{e}");
}

#[tokio::test]
async fn exports_stream_to_a_file_or_a_writer() {
    let server = Server::start();
    let client = server.client();
    let o = busy_org(&client, "exports", 9).await;
    let dir = tempfile::tempdir().unwrap();

    // Into a directory: the server's file name.
    let full =
        ExportRequest { layout: Some(ExportLayout::Full), order: Some(ExportOrder::Oldest), ..ExportRequest::csv() };
    let done = client.export_credit_events(&o, &full, dir.path()).await.unwrap();
    let path = done.path.clone().unwrap();
    assert_eq!(path.parent().unwrap(), dir.path());
    assert_eq!(Some(path.file_name().unwrap().to_str().unwrap().to_owned()), done.filename);
    assert!(done.content_type.starts_with("text/csv"), "{}", done.content_type);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(done.bytes, text.len() as u64);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 10, "a header and every event:\n{text}");
    assert!(lines[1].contains("grant"), "oldest first: {}", lines[1]);

    // Into a named file, filtered, as XLSX (a zip: "PK").
    let target = dir.path().join("usage.xlsx");
    let xlsx = ExportRequest {
        format: ExportFormat::Xlsx,
        filter: HistoryFilter { event_type: vec![EventKind::Usage], ..Default::default() },
        ..ExportRequest::csv()
    };
    let done = client.export_credit_events(&o, &xlsx, &target).await.unwrap();
    assert_eq!(done.path.as_deref(), Some(target.as_path()));
    let bytes = std::fs::read(&target).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    assert_eq!(done.bytes, bytes.len() as u64);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".part")), "{names:?}");

    // Into a writer: the same bytes as the file of the same request.
    let mut buf = Vec::new();
    let done = client.export_credit_events_to(&o, &full, &mut buf).await.unwrap();
    assert_eq!(done.path, None);
    assert_eq!(String::from_utf8(buf).unwrap(), text);

    // A refused export writes no file at all.
    let missing = dir.path().join("never.csv");
    let e = client.export_credit_events("no-such-org", &ExportRequest::csv(), &missing).await.unwrap_err();
    assert!(e.code().is_some(), "{e}");
    assert!(!missing.exists());
    assert!(!dir.path().join("never.csv.part").exists());
}
