namespace SecureMx.TestKit;

/// <summary>
/// One record of the zone definition: <paramref name="Owner"/> without the final dot, <paramref name="Type"/>
/// upper-case, <paramref name="Data"/> as written (addresses still NET.N or NET.b+K).
/// <paramref name="Bogus"/>: a BOGUS-TLSA line, a TLSA record whose lookup fails.
/// </summary>
public sealed record TestBedRecord(string Owner, string Type, string Data, bool Bogus, int Line);
