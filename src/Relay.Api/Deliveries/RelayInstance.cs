namespace Relay.Api.Deliveries;

/// <summary>This process among the relay instances sharing one database: the owner of the leases it takes.</summary>
public sealed record RelayInstance(Guid Id)
{
    public RelayInstance() : this(Guid.NewGuid())
    {
    }
}
