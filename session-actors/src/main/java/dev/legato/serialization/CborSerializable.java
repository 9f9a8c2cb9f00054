package dev.legato.serialization;

/**
 * Marks messages, events and state that may cross nodes or reach the journal: they are serialized with
 * Jackson CBOR (binding in this module's reference.conf).
 */
public interface CborSerializable {}
