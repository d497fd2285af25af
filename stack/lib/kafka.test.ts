import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadStackConfig } from './config.ts'
import { renderProperties } from './jvm.ts'
import { kafkaComponent, kafkaServerProperties, localBrokers, newClusterId } from './kafka.ts'
import { silentReporter } from './report.ts'

describe('newClusterId', () => {
  it('never starts with "-", which kafka-storage would read as an option (regression: a CI run failed on one)', () => {
    // 0xf8 → base64url '-' as the first character.
    const draws = [Buffer.alloc(16, 0xf8), randomBytes(16)]
    const id = newClusterId(() => draws.shift() ?? randomBytes(16))
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true)
    expect(id.startsWith('-')).toBe(false)
    expect(Buffer.from(id, 'base64url')).toHaveLength(16)
  })
})

describe('the broker config', () => {
  it('turns topic auto-creation off, so a topic nobody created on purpose fails in tests as in production', () => {
    const properties = renderProperties(
      kafkaServerProperties(loadStackConfig({ STACK_DIR: '/tmp/s' }), '/tmp/s/d'),
    )
    expect(properties.split('\n')).toContain('auto.create.topics.enable=false')
  })
})

describe('a three-node cluster (STACK_KAFKA_NODES=3)', () => {
  const config = loadStackConfig({ STACK_DIR: '/tmp/s', STACK_KAFKA_NODES: '3' })

  it('puts brokers and controllers on consecutive ports, every node a voter of one static quorum', () => {
    expect(localBrokers(config)).toEqual(['127.0.0.1:19092', '127.0.0.1:19093', '127.0.0.1:19094'])
    const nodes = [1, 2, 3].map((n) => kafkaServerProperties(config, `/tmp/s/d${n}`, n))
    for (const [i, node] of nodes.entries()) {
      expect(node['node.id']).toBe(i + 1)
      expect(node.listeners).toBe(`PLAINTEXT://127.0.0.1:${19092 + i},CONTROLLER://127.0.0.1:${19095 + i}`)
      expect(node['controller.quorum.voters']).toBe('1@127.0.0.1:19095,2@127.0.0.1:19096,3@127.0.0.1:19097')
      expect(node['controller.quorum.bootstrap.servers']).toBeUndefined()
    }
  })

  it('replicates every topic three times and acknowledges a write only once two copies have it', () => {
    expect(kafkaServerProperties(config, '/tmp/s/d', 2)).toMatchObject({
      'default.replication.factor': 3,
      'min.insync.replicas': 2,
      'offsets.topic.replication.factor': 3,
      'transaction.state.log.replication.factor': 3,
      'transaction.state.log.min.isr': 2,
    })
  })

  it('keeps the single node exactly as it was', () => {
    const single = kafkaServerProperties(loadStackConfig({ STACK_DIR: '/tmp/s' }), '/tmp/s/d')
    expect(single).toMatchObject({
      'node.id': 1,
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'controller.quorum.bootstrap.servers': '127.0.0.1:19093',
      'default.replication.factor': 1,
      'min.insync.replicas': 1,
    })
    expect(single['controller.quorum.voters']).toBeUndefined()
  })
})

describe('a stack folder formatted for another node count', () => {
  it('is refused with what to do, before anything starts', async () => {
    const stackDir = mkdtempSync(join(tmpdir(), 'kafka-'))
    const single = loadStackConfig({ STACK_DIR: stackDir })
    const node = kafkaComponent(single, 'java')
    mkdirSync(join(node.dir, 'data'), { recursive: true })
    writeFileSync(join(node.dir, 'data', 'meta.properties'), 'node.id=1\n')
    writeFileSync(join(node.dir, 'formatted.json'), JSON.stringify({ clusterId: 'x', controllerPort: 19093 }))
    await expect(node.prepare(silentReporter)).resolves.toBeUndefined()
    const three = kafkaComponent(loadStackConfig({ STACK_DIR: stackDir, STACK_KAFKA_NODES: '3' }), 'java')
    await expect(three.prepare(silentReporter)).rejects.toThrow(
      /formatted for 1 node\(s\) with controller port 19093, not 3 with 19095.*stack:down -- --purge/s,
    )
  })

  it('refuses a node formatted for another cluster than the stack’s other nodes', async () => {
    const stackDir = mkdtempSync(join(tmpdir(), 'kafka-'))
    const config = loadStackConfig({ STACK_DIR: stackDir, STACK_KAFKA_NODES: '3' })
    const second = kafkaComponent(config, 'java', 2)
    mkdirSync(join(second.dir, 'data'), { recursive: true })
    writeFileSync(join(second.dir, 'data', 'meta.properties'), 'node.id=2\n')
    writeFileSync(
      join(second.dir, 'formatted.json'),
      JSON.stringify({ clusterId: 'OLD', controllerPort: 19096, nodes: 3 }),
    )
    // Node 1's folder was deleted: the id still on node 2's storage is kept, not a new one drawn.
    await expect(second.prepare(silentReporter)).resolves.toBeUndefined()
    writeFileSync(join(stackDir, 'kafka', 'cluster-id'), 'NEW\n')
    await expect(second.prepare(silentReporter)).rejects.toThrow(
      /belongs to cluster OLD, the stack's other nodes to NEW/,
    )
  })
})
