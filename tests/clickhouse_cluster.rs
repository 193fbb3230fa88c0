//! moose on a real ClickHouse cluster: ZooKeeper and four ClickHouse 18.16 servers (2 shards x
//! 2 replicas) on loopback, started by `scripts/clickhouse-cluster.sh`.

mod common;

use common::cluster::TestCluster;

/// The script's cluster is what the docs say moose needs: every server lists the same four
/// replicas in two shards, has its own shard and replica macros, and reaches ZooKeeper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_starts_two_shards_of_two_replicas_with_zookeeper() {
    let cluster = TestCluster::start();
    assert_eq!(cluster.name, "moose_cluster");
    assert!(cluster.zookeeper.starts_with("127.0.0.1:"));
    for i in 1..=4 {
        let node = cluster.node(i, "default").await;
        let shards = node
            .query_text(
                "SELECT shard_num, count() FROM system.clusters \
                 WHERE cluster = 'moose_cluster' GROUP BY shard_num ORDER BY shard_num",
                "reading the cluster",
            )
            .await
            .unwrap();
        assert_eq!(shards, "1\t2\n2\t2\n", "node {i}: 2 shards x 2 replicas");
        let macros = node
            .query_text(
                "SELECT macro, substitution FROM system.macros WHERE macro IN ('shard', 'replica') ORDER BY macro",
                "reading the macros",
            )
            .await
            .unwrap();
        let shard = if i <= 2 { 1 } else { 2 };
        assert_eq!(macros, format!("replica\tnode-{i}\nshard\t{shard}\n"));
        let zookeeper = node
            .query_text(
                "SELECT count() > 0 FROM system.zookeeper WHERE path = '/'",
                "reading ZooKeeper",
            )
            .await
            .unwrap();
        assert_eq!(zookeeper.trim(), "1", "node {i} reaches ZooKeeper");
    }
}
