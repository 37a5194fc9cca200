using System.Data.Common;

namespace SecureMx.Store;

/// <summary>
/// The store was found unreachable moments ago and is not asked again yet (<see cref="StoreDatabase.IsUnreachable"/>
/// is true for it). A DbException like every store error, so every caller that copes with one copes with this.
/// </summary>
public sealed class StoreUnreachableException(string message) : DbException(message);
