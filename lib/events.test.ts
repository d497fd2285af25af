import { describe, expect, it } from 'vitest'
import { deadLetterTopic, isEventTopicOf, topicFor } from './events.ts'

describe('a namespace’s event topics', () => {
  it('are <namespace>.<aggregate_type>, as the EventRouter routes them', () => {
    expect(isEventTopicOf('outbox.events', topicFor('book'))).toBe(true)
    expect(isEventTopicOf('outbox.events', 'outbox.events.shipment')).toBe(true)
  })

  it('are not its dead-letter topic, whatever the `<namespace>.*` pattern suggests', () => {
    expect(isEventTopicOf('outbox.events', deadLetterTopic('outbox.events'))).toBe(false)
  })

  it('are not a nested namespace’s topics nor its dead-letter topic', () => {
    expect(isEventTopicOf('outbox.events', 'outbox.events.v2.book')).toBe(false)
    expect(isEventTopicOf('outbox.events', deadLetterTopic('outbox.events.v2'))).toBe(false)
    expect(isEventTopicOf('outbox.events.v2', 'outbox.events.v2.book')).toBe(true)
  })

  it('are not a longer namespace’s, another namespace’s, or the bare prefix', () => {
    expect(isEventTopicOf('outbox.events', 'outbox.eventsx.book')).toBe(false)
    expect(isEventTopicOf('outbox.events', 'other.outbox.events.book')).toBe(false)
    expect(isEventTopicOf('outbox.events', 'outbox.events.')).toBe(false)
    expect(isEventTopicOf('outbox.events', 'outbox.events')).toBe(false)
  })
})
