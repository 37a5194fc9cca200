namespace SecureMx.Store;

/// <summary>
/// PostgreSQL only: the triggers behind <see cref="PostgresDirectoryChangeFeed"/>. Every statement
/// that inserts, updates, deletes or truncates rows of domains, mailboxes, aliases or
/// tls_destinations sends <c>pg_notify('securemx_directory', table)</c> — in the database, so the
/// CLI, the dashboard, `store copy` and psql all reach every node. The notification is delivered at
/// commit (never for a rolled-back change), and PostgreSQL folds identical ones of one transaction
/// into one. Statement-level: a bulk change is one notification, not one per row. (SQLite has no
/// feed: with it there is one node and no cache.)
/// </summary>
public static class DirectoryChangeTriggers
{
    public const string PostgreSql = """
        CREATE OR REPLACE FUNCTION securemx_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('securemx_directory', TG_TABLE_NAME);
          RETURN NULL;
        END
        $$;
        CREATE TRIGGER domains_directory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON domains
          FOR EACH STATEMENT EXECUTE FUNCTION securemx_directory_changed();
        CREATE TRIGGER mailboxes_directory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mailboxes
          FOR EACH STATEMENT EXECUTE FUNCTION securemx_directory_changed();
        CREATE TRIGGER aliases_directory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aliases
          FOR EACH STATEMENT EXECUTE FUNCTION securemx_directory_changed();
        CREATE TRIGGER tls_destinations_directory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tls_destinations
          FOR EACH STATEMENT EXECUTE FUNCTION securemx_directory_changed();
        """;
}
