#!/bin/sh
# A shell entrypoint in the maestro style: a Kafka broker finds its ZooKeeper ensemble and its
# own ports through guestutils, then starts. Marathon sets MARATHON_APP_ID, MESOS_TASK_ID,
# HOST and PORT_<NAME>; guestutils reads etcd (HERALD_ETCD_ENDPOINTS).
#
# KAFKA_START (default: kafka-server-start.sh) is what gets exec'd; the test sets it to `echo`.
set -eu
zookeeper=$(guestutils get-node-list zookeeper --port client --minimum 1 | paste -sd, -)
broker_port=$(guestutils get-port broker)
advertised=$(guestutils get-container-host-address)
broker_id=$(guestutils get-container-name | cksum | cut -d' ' -f1)
exec ${KAFKA_START:-kafka-server-start.sh} /etc/kafka/server.properties \
  --override zookeeper.connect="$zookeeper" \
  --override listeners="PLAINTEXT://0.0.0.0:$broker_port" \
  --override advertised.listeners="PLAINTEXT://$advertised:$broker_port" \
  --override broker.id="$((broker_id % 1000000))"
