// Tributary's replacement for kafkajs 2.2.4's src/protocol/requests/produce/v3/request.js (applied by
// deploy/patches/apply.cjs at install). The original encodes every record into an Encoder of its own (a zeroed
// 512-byte buffer, a spread of the message, an array and a Buffer per varint), then copies the records into the
// batch, the batch into the topic, the topic into the request, each time into a new zeroed buffer of the next power
// of two: per message, that cost several times what the capture spends encoding its Avro. fastRequest writes the
// whole request body, every uncompressed partition's record batch in place, into one buffer of the exact size, byte
// for byte what the original writes (services/kafka/patches.test.ts compares them); a request with anything it does
// not cover (compression, headers, string keys or values, unusual timestamps) takes the original path.
const Long = require('../../../../utils/long')
const Encoder = require('../../../encoder')
const { Produce: apiKey } = require('../../apiKeys')
const { Types } = require('../../../message/compression')
const Record = require('../../../recordBatch/record/v0')
const { RecordBatch, MAGIC_BYTE } = require('../../../recordBatch/v0')
const crc32C = require('../../../recordBatch/crc32C')

/**
 * Produce Request (Version: 3) => transactional_id acks timeout [topic_data]
 *   transactional_id => NULLABLE_STRING
 *   acks => INT16
 *   timeout => INT32
 *   topic_data => topic [data]
 *     topic => STRING
 *     data => partition record_set
 *       partition => INT32
 *       record_set => RECORDS
 */

/**
 * @param [transactionalId=null] {String} The transactional id or null if the producer is not transactional
 * @param acks {Integer} See producer request v0
 * @param timeout {Integer} See producer request v0
 * @param [compression=CompressionTypes.None] {CompressionTypes}
 * @param topicData {Array}
 */
module.exports = ({
  acks,
  timeout,
  transactionalId = null,
  producerId = Long.fromInt(-1),
  producerEpoch = 0,
  compression = Types.None,
  topicData,
}) => ({
  apiKey,
  apiVersion: 3,
  apiName: 'Produce',
  expectResponse: () => acks !== 0,
  encode: async () =>
    (compression === Types.None &&
      fastRequest({ acks, timeout, transactionalId, producerId, producerEpoch, topicData })) ||
    originalEncode(
      { acks, timeout, transactionalId, producerId, producerEpoch, topicData },
      partitionsEncoder(compression)
    ),
})

const originalEncode = async ({
  acks,
  timeout,
  transactionalId,
  producerId,
  producerEpoch,
  topicData,
}, encodePartition) => {
  const encodeTopic = topicEncoder(encodePartition)
  const encodedTopicData = []

  for (const data of topicData) {
    encodedTopicData.push(
      await encodeTopic({ ...data, transactionalId, producerId, producerEpoch })
    )
  }

  return new Encoder()
    .writeString(transactionalId)
    .writeInt16(acks)
    .writeInt32(timeout)
    .writeArray(encodedTopicData)
}

const topicEncoder = encodePartition => async ({
  topic,
  partitions,
  transactionalId,
  producerId,
  producerEpoch,
}) => {
  const encodedPartitions = []

  for (const data of partitions) {
    encodedPartitions.push(
      await encodePartition({ ...data, transactionalId, producerId, producerEpoch })
    )
  }

  return new Encoder().writeString(topic).writeArray(encodedPartitions)
}

const partitionsEncoder = compression => async data =>
  (compression === Types.None && fastPartitionEncoder(data)) || originalPartitionsEncoder(compression)(data)

const originalPartitionsEncoder = compression => async ({
  partition,
  messages,
  transactionalId,
  firstSequence,
  producerId,
  producerEpoch,
}) => {
  const dateNow = Date.now()
  const messageTimestamps = messages
    .map(m => m.timestamp)
    .filter(timestamp => timestamp != null)
    .sort()

  const timestamps = messageTimestamps.length === 0 ? [dateNow] : messageTimestamps
  const firstTimestamp = timestamps[0]
  const maxTimestamp = timestamps[timestamps.length - 1]

  const records = messages.map((message, i) =>
    Record({
      ...message,
      offsetDelta: i,
      timestampDelta: (message.timestamp || dateNow) - firstTimestamp,
    })
  )

  const recordBatch = await RecordBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    firstSequence,
    transactional: !!transactionalId,
    lastOffsetDelta: records.length - 1,
  })

  return new Encoder()
    .writeInt32(partition)
    .writeInt32(recordBatch.size())
    .writeEncoder(recordBatch)
}

const TRANSACTIONAL_MASK = 16

/** Bytes of the unsigned varint of `n` (a safe integer ≥ 0). */
const uvarintSize = n => {
  let size = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}

const writeUVarint = (buf, offset, n) => {
  while (n >= 128) {
    buf[offset++] = (n % 128) | 128
    n = Math.floor(n / 128)
  }
  buf[offset++] = n
  return offset
}

/** Zigzag of a safe integer, in float arithmetic: exact where Long's is for |n| < 2^52. */
const zigzag = n => (n >= 0 ? n * 2 : -n * 2 - 1)

const writeInt64 = (buf, offset, value) => {
  const long = Long.fromValue(value)
  buf.writeInt32BE(long.getHighBits(), offset)
  buf.writeInt32BE(long.getLowBits(), offset + 4)
}

const bytesSize = part => (part == null ? 1 : uvarintSize(part.length * 2) + part.length)

const writeBytes = (buf, offset, part) => {
  if (part == null) {
    buf[offset] = 1 // zigzag(-1)
    return offset + 1
  }
  offset = writeUVarint(buf, offset, part.length * 2)
  part.copy(buf, offset)
  return offset + part.length
}

const MAX_DELTA = 2 ** 51

// partition, record set size, first offset, batch length, leader epoch, magic, crc, then the CRC'd body:
// attributes, last offset delta, first and max timestamp, producer id and epoch, first sequence, record count.
const BODY_START = 4 + 4 + 8 + 4 + 4 + 1 + 4

/**
 * What writePartition needs to write the partition's data as originalPartitionsEncoder(Types.None) encodes it, its
 * size included, or null when it must take that path: every key and value a Buffer or null, no headers, integer
 * timestamp deltas.
 */
const planPartition = ({
  partition,
  messages,
  transactionalId,
  firstSequence,
  producerId,
  producerEpoch,
}) => {
  const count = messages.length
  if (count === 0) return null
  const dateNow = Date.now()
  const messageTimestamps = messages
    .map(m => m.timestamp)
    .filter(timestamp => timestamp != null)
    .sort()
  const timestamps = messageTimestamps.length === 0 ? [dateNow] : messageTimestamps
  const firstTimestamp = timestamps[0]
  const maxTimestamp = timestamps[timestamps.length - 1]

  const deltas = new Array(count)
  const bodies = new Array(count)
  let recordsSize = 0
  for (let i = 0; i < count; i++) {
    const { key, value, headers } = messages[i]
    if (key != null && !Buffer.isBuffer(key)) return null
    if (value != null && !Buffer.isBuffer(value)) return null
    if (headers != null && Object.keys(headers).length > 0) return null
    const delta = (messages[i].timestamp || dateNow) - firstTimestamp
    if (!Number.isSafeInteger(delta) || delta > MAX_DELTA || delta < -MAX_DELTA) return null
    const body = 1 + uvarintSize(zigzag(delta)) + uvarintSize(i * 2) + bytesSize(key) + bytesSize(value) + 1
    deltas[i] = delta
    bodies[i] = body
    recordsSize += uvarintSize(body * 2) + body
  }

  const size = BODY_START + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 + recordsSize
  return {
    partition,
    messages,
    transactionalId,
    firstSequence,
    producerId,
    producerEpoch,
    firstTimestamp,
    maxTimestamp,
    deltas,
    bodies,
    size,
  }
}

/** Writes a planned partition into `buf` from `start`; returns its end. */
const writePartition = (plan, buf, start) => {
  const { partition, messages, transactionalId, firstSequence, producerId, producerEpoch, deltas, bodies, size } = plan
  const count = messages.length
  buf.writeInt32BE(partition, start)
  buf.writeInt32BE(size - 8, start + 4)
  writeInt64(buf, start + 8, Long.fromInt(0))
  buf.writeInt32BE(size - 20, start + 16)
  buf.writeInt32BE(0, start + 20)
  buf.writeInt8(MAGIC_BYTE, start + 24)
  const bodyStart = start + BODY_START
  let offset = bodyStart
  buf.writeInt16BE(transactionalId ? TRANSACTIONAL_MASK : 0, offset)
  buf.writeInt32BE(count - 1, offset + 2)
  writeInt64(buf, offset + 6, plan.firstTimestamp)
  writeInt64(buf, offset + 14, plan.maxTimestamp)
  writeInt64(buf, offset + 22, producerId)
  buf.writeInt16BE(producerEpoch, offset + 30)
  buf.writeInt32BE(firstSequence, offset + 32)
  buf.writeInt32BE(count, offset + 36)
  offset += 40
  for (let i = 0; i < count; i++) {
    const { key, value } = messages[i]
    offset = writeUVarint(buf, offset, bodies[i] * 2)
    buf[offset++] = 0 // attributes
    offset = writeUVarint(buf, offset, zigzag(deltas[i]))
    offset = writeUVarint(buf, offset, i * 2)
    offset = writeBytes(buf, offset, key)
    offset = writeBytes(buf, offset, value)
    buf[offset++] = 0 // no headers
  }
  const end = start + size
  buf.writeUInt32BE(crc32C(buf.subarray(bodyStart, end)), bodyStart - 4)
  return end
}

/** An Encoder over `buf`, which is full. */
const encoderOf = buf => {
  const encoder = new Encoder(0)
  encoder.buf = buf
  encoder.offset = buf.length
  return encoder
}

/** One partition's record batch in a buffer of its own, or null: what the original's partition encoder writes. */
const fastPartitionEncoder = data => {
  const plan = planPartition(data)
  if (plan === null) return null
  const buf = Buffer.allocUnsafe(plan.size)
  writePartition(plan, buf, 0)
  return encoderOf(buf)
}

/** Bytes of a protocol STRING (Int16 length, then UTF-8), or of a null one. */
const stringSize = text => 2 + (text == null ? 0 : Buffer.byteLength(text, 'utf8'))

const writeString = (buf, offset, text) => {
  if (text == null) {
    buf.writeInt16BE(-1, offset)
    return offset + 2
  }
  const length = buf.write(text, offset + 2, 'utf8')
  buf.writeInt16BE(length, offset)
  return offset + 2 + length
}

/**
 * The whole request body as the original encode writes it — transactional id, acks, timeout, then per topic its
 * name and per partition its record batch — in one buffer, or null when a partition must take the original path.
 */
const fastRequest = ({ acks, timeout, transactionalId, producerId, producerEpoch, topicData }) => {
  let size = stringSize(transactionalId) + 2 + 4 + 4
  const topics = []
  for (const { topic, partitions } of topicData) {
    const plans = []
    size += stringSize(topic) + 4
    for (const data of partitions) {
      const plan = planPartition({ ...data, transactionalId, producerId, producerEpoch })
      if (plan === null) return null
      plans.push(plan)
      size += plan.size
    }
    topics.push({ topic, plans })
  }
  const buf = Buffer.allocUnsafe(size)
  let offset = writeString(buf, 0, transactionalId)
  buf.writeInt16BE(acks, offset)
  buf.writeInt32BE(timeout, offset + 2)
  buf.writeInt32BE(topics.length, offset + 6)
  offset += 10
  for (const { topic, plans } of topics) {
    offset = writeString(buf, offset, topic)
    buf.writeInt32BE(plans.length, offset)
    offset += 4
    for (const plan of plans) offset = writePartition(plan, buf, offset)
  }
  return encoderOf(buf)
}

// For services/kafka/patches.test.ts, which checks that both paths write the same bytes.
module.exports.partitionEncoders = { fast: fastPartitionEncoder, original: originalPartitionsEncoder }
// The original request is kafkajs's own path throughout, its partitions included.
module.exports.requestEncoders = {
  fast: fastRequest,
  original: args => originalEncode(args, originalPartitionsEncoder(args.compression)),
}
