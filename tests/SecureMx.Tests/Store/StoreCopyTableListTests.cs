using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>StoreCopy's table list against the schema: nothing forgotten, parents first, the same tables on both backends.</summary>
public sealed class StoreCopyTableListTests : IDisposable
{
    private readonly TestStore _store = new(null, null, StoreBackend.Sqlite);

    public void Dispose() => _store.Dispose();

    [Fact]
    public void EveryTableOfTheSchemaIsCopiedOrNamedAsNotCopied()
    {
        var tables = _store.Database.Rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name", r => r.GetString(0));
        var copied = StoreCopy.Configuration.Concat(StoreCopy.Logs).Select(t => t.Name).ToList();
        Assert.Equal(copied.Count, copied.Distinct().Count());
        Assert.Empty(copied.Intersect(StoreCopy.NotCopied.Keys));
        Assert.Equal(tables, copied.Concat(StoreCopy.NotCopied.Keys).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ATableIsCopiedAfterTheTablesItReferences()
    {
        var order = StoreCopy.Configuration.Concat(StoreCopy.Logs).Select(t => t.Name).ToList();
        foreach (var table in order)
        {
            var parents = _store.Database.Rows($"SELECT \"table\" FROM pragma_foreign_key_list('{table}')", r => r.GetString(0));
            foreach (var parent in parents)
                Assert.True(order.IndexOf(parent) is >= 0 and var i && i < order.IndexOf(table), $"{table} references {parent}, which is not copied before it");
        }
    }

    [Fact]
    public void PostgreSqlHasTheSameTablesAsSqlitePlusItsVersionTable()
    {
        using var postgres = new TestStore(null, null, StoreBackend.PostgreSql);
        var tables = postgres.Database.Rows("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'", r => r.GetString(0));
        var copied = StoreCopy.Configuration.Concat(StoreCopy.Logs).Select(t => t.Name);
        Assert.Equal(copied.Concat(StoreCopy.NotCopied.Keys).Append("schema_version").Order(StringComparer.Ordinal), tables.Order(StringComparer.Ordinal));
    }
}
