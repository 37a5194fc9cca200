using Xunit.Sdk;
using Xunit.v3;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// Runs a class's test methods in the order they are declared (<c>[TestMethodOrderer(typeof(DeclarationOrder))]</c>;
/// a method's metadata token follows its place in the source): for a class whose last test summarises what the
/// others measured (the tests stay independent of each other).
/// </summary>
public sealed class DeclarationOrder : ITestMethodOrderer
{
    public IReadOnlyCollection<TTestMethod?> OrderTestMethods<TTestMethod>(IReadOnlyCollection<TTestMethod?> testMethods) where TTestMethod : notnull, ITestMethod =>
        testMethods.OrderBy(m => m is IXunitTestMethod x ? x.MetadataToken : int.MaxValue).ToList();
}
