use std::time::Duration;

use super::*;

#[tokio::test]
async fn a_group_resumes_from_its_committed_offsets_after_the_log_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let topic = spec("events", 1, KEEP);
    {
        let log = open_with_topic(dir.path(), &topic).await;
        let records: Vec<_> = (0..10).map(|i| record("k", &i.to_string())).collect();
        log.produce("events", &records).await.unwrap();
        let mut c = consumer(&log, "events", "sync").await;
        let first = c.poll(4, Duration::from_secs(5)).await.unwrap();
        assert_eq!(payloads(&first), ["0", "1", "2", "3"]);
        c.ack(&[(0, 4)]).unwrap();
        c.commit_acked().await.unwrap();
        // Read further without committing: these must come again after the restart.
        assert_eq!(c.poll(3, Duration::from_secs(5)).await.unwrap().len(), 3);
    }
    let log = LocalLog::open(dir.path()).unwrap();
    let mut c = consumer(&log, "events", "sync").await;
    let rest = read_exactly(c.as_mut(), 6).await;
    assert_eq!(payloads(&rest), ["4", "5", "6", "7", "8", "9"]);
    assert_eq!(rest[0].offset, 4);
}

#[tokio::test]
async fn groups_are_independent_and_a_new_group_starts_at_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 2, KEEP)).await;
    let records: Vec<_> = (0..6)
        .map(|i| record(&format!("k{i}"), &i.to_string()))
        .collect();
    log.produce("events", &records).await.unwrap();

    let mut a = consumer(&log, "events", "a").await;
    let read = read_exactly(a.as_mut(), 6).await;
    let ends: Vec<(u32, u64)> = (0..2)
        .map(|p| {
            (
                p,
                read.iter()
                    .filter(|r| r.partition == p)
                    .map(|r| r.offset + 1)
                    .max()
                    .unwrap_or(0),
            )
        })
        .collect();
    a.ack(&ends).unwrap();
    a.commit_acked().await.unwrap();

    let mut b = consumer(&log, "events", "b").await;
    assert_eq!(
        read_exactly(b.as_mut(), 6).await.len(),
        6,
        "group b is not affected by a's commits"
    );
    let mut a_again = consumer(&log, "events", "a").await;
    assert!(
        a_again
            .poll(10, Duration::from_millis(20))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn acknowledged_offsets_are_committed_on_the_cadence_and_a_crash_rereads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
    let records: Vec<_> = (0..5).map(|i| record("k", &i.to_string())).collect();
    log.produce("events", &records).await.unwrap();

    // Acknowledged, then a crash before the cadence came round: read again.
    let mut c = consumer(&log, "events", "g").await;
    assert_eq!(c.poll(2, Duration::from_secs(5)).await.unwrap().len(), 2);
    c.ack(&[(0, 2)]).unwrap();
    std::mem::forget(c);
    let mut c = consumer(&log, "events", "g").await;
    assert_eq!(
        payloads(&c.poll(2, Duration::from_secs(5)).await.unwrap()),
        ["0", "1"],
        "nothing was committed"
    );

    // Acknowledged, and a poll after COMMIT_INTERVAL commits it: a crash then reads on.
    c.ack(&[(0, 2)]).unwrap();
    tokio::time::sleep(crate::stream::COMMIT_INTERVAL).await;
    assert_eq!(
        payloads(&c.poll(1, Duration::from_secs(5)).await.unwrap()),
        ["2"]
    );
    std::mem::forget(c);
    let mut c = consumer(&log, "events", "g").await;
    assert_eq!(
        payloads(&read_exactly(c.as_mut(), 3).await),
        ["2", "3", "4"],
        "the cadence committed offset 2"
    );

    // A member that stops commits what it acknowledged.
    c.ack(&[(0, 4)]).unwrap();
    drop(c);
    let mut c = consumer(&log, "events", "g").await;
    assert_eq!(payloads(&read_exactly(c.as_mut(), 1).await), ["4"]);
}

#[tokio::test]
async fn members_of_a_group_split_the_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 4, KEEP)).await;
    let records: Vec<_> = (0..40)
        .map(|i| record(&format!("k{i}"), &i.to_string()))
        .collect();
    log.produce("events", &records).await.unwrap();
    let mut total = 0;
    for index in 0..2 {
        let mut member = log
            .consumer("events", "g", MemberId { index, count: 2 })
            .await
            .unwrap();
        let mut got = Vec::new();
        while let batch = member.poll(100, Duration::from_millis(50)).await.unwrap()
            && !batch.is_empty()
        {
            got.extend(batch);
        }
        assert!(
            got.iter().all(|r| r.partition % 2 == index),
            "member {index} reads only its partitions"
        );
        total += got.len();
    }
    assert_eq!(total, 40);
    assert!(
        log.consumer("events", "g", MemberId { index: 2, count: 2 })
            .await
            .is_err()
    );
}

#[tokio::test]
async fn acknowledging_past_the_end_of_a_partition_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
    log.produce("events", &[record("k", "0")]).await.unwrap();
    let mut c = consumer(&log, "events", "g").await;
    assert!(c.ack(&[(0, 2)]).is_err());
    assert!(c.ack(&[(5, 0)]).is_err());
    c.ack(&[(0, 1)]).unwrap();
    c.commit_acked().await.unwrap();
}
