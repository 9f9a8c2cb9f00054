package dev.legato.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.sqlite.SQLiteConfig;

/** Every row of every table of a database file, as text: two files with the same rows give equal dumps. */
final class ReplicaDumps {
  private ReplicaDumps() {}

  static Map<String, List<String>> dump(Path database) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    Map<String, List<String>> tables = new TreeMap<>();
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database, config.toProperties());
        Statement statement = connection.createStatement()) {
      List<String> names = new ArrayList<>();
      try (ResultSet rows = statement.executeQuery(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
        while (rows.next()) {
          names.add(rows.getString(1));
        }
      }
      for (String name : names) {
        List<String> out = new ArrayList<>();
        try (ResultSet rows = statement.executeQuery("SELECT * FROM \"" + name + "\" ORDER BY rowid")) {
          ResultSetMetaData meta = rows.getMetaData();
          while (rows.next()) {
            StringBuilder row = new StringBuilder();
            for (int c = 1; c <= meta.getColumnCount(); c++) {
              Object value = rows.getObject(c);
              row.append(value instanceof byte[] bytes ? java.util.HexFormat.of().formatHex(bytes) : String.valueOf(value)).append('|');
            }
            out.add(row.toString());
          }
        }
        tables.put(name, out);
      }
      try (ResultSet check = statement.executeQuery("PRAGMA integrity_check")) {
        check.next();
        tables.put("(integrity)", List.of(check.getString(1)));
      }
    }
    return tables;
  }

  static int rows(Map<String, List<String>> dump, String table) {
    return dump.getOrDefault(table, List.of()).size();
  }
}
