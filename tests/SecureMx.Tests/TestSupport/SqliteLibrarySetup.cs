using System.Runtime.CompilerServices;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

internal static class SqliteLibrarySetup
{
    /// <summary>The tests run SQLite as the server does (Program.Main configures it before any database is opened).</summary>
    [ModuleInitializer]
    internal static void ConfigureAsTheServerDoes() => SqliteLibrary.Configure();
}
