package dev.legato.storage;

import java.io.NotSerializableException;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.Serialization$;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import scala.jdk.javaapi.CollectionConverters;

/** Pekko serialization of events, metadata and snapshots into the columns of a session database. */
final class EventCodec {
  private final Serialization serialization;

  EventCodec(Serialization serialization) {
    this.serialization = serialization;
  }

  /**
   * Makes the calling thread serialize ActorRefs with this system's address (what
   * {@code Serialization.withTransportInformation} does per call); the writer threads call it once.
   */
  void bindTransportInformation() {
    Serialization$.MODULE$.currentTransportInformation().value_$eq(serialization.serializationInformation());
  }

  /** An object as stored: serializer id, serializer manifest and bytes. */
  record Blob(int serializerId, String manifest, byte[] bytes) {}

  /**
   * One event ready for its journal row.
   *
   * @param event the payload without its {@link Tagged} wrapper: what the projection sees
   * @param tags comma-separated tags, or null
   * @param metadata the serialized metadata, or null
   */
  record Encoded(PersistentRepr repr, Object event, String tags, Blob payload, Blob metadata) {
    /** When the event was written: its own timestamp when it has one, else {@code now}. */
    long writtenAt(long now) {
      return repr.timestamp() > 0 ? repr.timestamp() : now;
    }
  }

  Encoded encode(PersistentRepr repr) throws NotSerializableException {
    Object event = repr.payload();
    String tags = null;
    if (event instanceof Tagged tagged) {
      event = tagged.payload();
      tags = tagged.tags().isEmpty() ? null : String.join(",", CollectionConverters.asJava(tagged.tags()));
    }
    Blob metadata = repr.metadata().isDefined() ? serialize(repr.metadata().get()) : null;
    return new Encoded(repr, event, tags, serialize(event), metadata);
  }

  Blob serialize(Object value) throws NotSerializableException {
    try {
      Serializer serializer = serialization.findSerializerFor(value);
      byte[] bytes = serializer.toBinary(value);
      return new Blob(serializer.identifier(), Serializers.manifestFor(serializer, value), bytes);
    } catch (Exception e) { // Scala code throws checked exceptions undeclared
      if (e instanceof NotSerializableException notSerializable) {
        throw notSerializable;
      }
      NotSerializableException failure =
          new NotSerializableException("cannot serialize " + value.getClass().getName() + ": " + e.getMessage());
      failure.initCause(e);
      throw failure;
    }
  }

  Object deserialize(byte[] bytes, int serializerId, String manifest) {
    return serialization.deserialize(bytes, serializerId, manifest).get();
  }
}
