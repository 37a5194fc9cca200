using Mono.Cecil;
using Mono.Cecil.Cil;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// Which folder of <c>src/SecureMx</c> uses which, read from the compiled assembly's IL with
/// Mono.Cecil: base types, interfaces, attributes, fields, properties, signatures, locals, and
/// every type, method and field a method body refers to. A folder is the first namespace part
/// after <c>SecureMx</c> (<c>SecureMx.Delivery.Remote</c> belongs to <c>Delivery</c>); the Razor
/// pages compiled into <c>AspNetCoreGeneratedDocument</c> belong to <c>Dashboard</c>.
/// </summary>
public sealed class FolderGraph
{
    public const string Root = "(root)";

    /// <summary>Folder → used folder → one example reference ("Type -> Type") for the failure message.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Edges { get; }

    public IReadOnlySet<string> Folders { get; }

    private FolderGraph(Dictionary<string, Dictionary<string, string>> edges, HashSet<string> folders)
    {
        Edges = edges.ToDictionary(e => e.Key, e => (IReadOnlyDictionary<string, string>)e.Value);
        Folders = folders;
    }

    public static FolderGraph Of(string assemblyPath)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath);
        var module = assembly.MainModule;
        var edges = new Dictionary<string, Dictionary<string, string>>();
        var folders = new HashSet<string>();

        string? FolderOf(TypeReference type)
        {
            while (type.IsNested) type = type.DeclaringType;
            // Only types of this assembly: a reference into another assembly has that assembly as its scope.
            if (type.Scope is AssemblyNameReference) return null;
            var ns = type.Namespace;
            if (ns == "AspNetCoreGeneratedDocument") return "Dashboard";
            if (ns == "SecureMx") return Root;
            if (!ns.StartsWith("SecureMx.", StringComparison.Ordinal)) return null;
            return ns.Split('.')[1];
        }

        void Use(string from, string owner, TypeReference? type)
        {
            switch (type)
            {
                case null:
                    return;
                case GenericInstanceType generic:
                    foreach (var argument in generic.GenericArguments) Use(from, owner, argument);
                    Use(from, owner, generic.ElementType);
                    return;
                case TypeSpecification spec: // arrays, pointers, by-ref, modifiers
                    Use(from, owner, spec.ElementType);
                    return;
                case GenericParameter:
                    return;
            }
            if (FolderOf(type) is not { } to || to == from) return;
            if (!edges.TryGetValue(from, out var uses)) edges[from] = uses = new();
            uses.TryAdd(to, $"{owner} -> {type.FullName}");
        }

        void UseMethod(string from, string owner, MethodReference method)
        {
            Use(from, owner, method.DeclaringType);
            Use(from, owner, method.ReturnType);
            foreach (var p in method.Parameters) Use(from, owner, p.ParameterType);
            if (method is GenericInstanceMethod generic)
            {
                foreach (var argument in generic.GenericArguments) Use(from, owner, argument);
            }
        }

        foreach (var type in module.GetTypes())
        {
            if (FolderOf(type) is not { } from) continue;
            folders.Add(from);
            var owner = type.FullName;
            Use(from, owner, type.BaseType);
            foreach (var i in type.Interfaces) Use(from, owner, i.InterfaceType);
            foreach (var a in type.CustomAttributes) UseMethod(from, owner, a.Constructor);
            foreach (var f in type.Fields) Use(from, owner, f.FieldType);
            foreach (var p in type.Properties) Use(from, owner, p.PropertyType);
            foreach (var e in type.Events) Use(from, owner, e.EventType);
            foreach (var m in type.Methods)
            {
                UseMethod(from, owner, m);
                foreach (var a in m.CustomAttributes) UseMethod(from, owner, a.Constructor);
                if (!m.HasBody) continue;
                foreach (var v in m.Body.Variables) Use(from, owner, v.VariableType);
                foreach (var instruction in m.Body.Instructions)
                {
                    switch (instruction.Operand)
                    {
                        case TypeReference t: Use(from, owner, t); break;
                        case MethodReference r: UseMethod(from, owner, r); break;
                        case FieldReference f: Use(from, owner, f.DeclaringType); Use(from, owner, f.FieldType); break;
                    }
                }
            }
        }
        return new FolderGraph(edges, folders);
    }

    /// <summary>One line per folder: "Queue -> Config, Delivery, …" (for test output and the docs).</summary>
    public string Describe() => string.Join('\n', Folders.Order(StringComparer.Ordinal).Select(f =>
        $"{f} -> {(Edges.TryGetValue(f, out var uses) ? string.Join(", ", uses.Keys.Order(StringComparer.Ordinal)) : "(nothing)")}"));
}
