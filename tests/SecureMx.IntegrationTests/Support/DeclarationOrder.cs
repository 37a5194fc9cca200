using Xunit.Sdk;
using Xunit.v3;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// Runs a class's tests in the order they are declared (<c>[TestCaseOrderer(typeof(DeclarationOrder))]</c>):
/// for a class whose last test summarises what the others measured (the tests stay independent of each other).
/// </summary>
public sealed class DeclarationOrder : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases) where TTestCase : notnull, ITestCase =>
        testCases.OrderBy(t => t is IXunitTestCase x ? x.TestMethod.Method.MetadataToken : int.MaxValue).ToList();
}
