using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Relay.Data.Migrations
{
    /// <inheritdoc />
    public partial class DeviceKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "public_key",
                table: "devices",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "public_key_signature",
                table: "devices",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddCheckConstraint(
                name: "ck_devices_public_key",
                table: "devices",
                sql: "(public_key IS NULL AND public_key_signature IS NULL) OR (length(public_key) = 32 AND length(public_key_signature) = 64)");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_devices_public_key",
                table: "devices");

            migrationBuilder.DropColumn(
                name: "public_key",
                table: "devices");

            migrationBuilder.DropColumn(
                name: "public_key_signature",
                table: "devices");
        }
    }
}
