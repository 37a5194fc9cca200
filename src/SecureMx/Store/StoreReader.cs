using System.Data.Common;

namespace SecureMx.Store;

/// <summary>Reading the store's column types: text that may be NULL, times as Unix milliseconds.</summary>
public static class StoreReader
{
    public static string? NullableString(this DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    public static DateTimeOffset Time(this DbDataReader r, int i) => DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
}
