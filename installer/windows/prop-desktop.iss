; Inno Setup 6 script for PRoP Desktop on Windows (x64). Build the PyInstaller folder first, then compile:
;
;   .venv\Scripts\python -m PyInstaller --noconfirm --clean installer\prop_desktop.spec
;   iscc /DAppVersion=0.1.0 installer\windows\prop-desktop.iss
;
; Output: dist\prop-desktop-<version>-windows-x64-setup.exe. docs\installer.md has the whole recipe and the
; USB serial driver notes (CH340/CH343, CP210x, FTDI).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "PRoP Desktop"
#define Root "..\.."

[Setup]
; AppId identifies the app to upgrades and the uninstaller: never change it.
AppId={{6C1F2E0B-8E1A-4C55-9C5B-2F4B9D7A11E3}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=PRoP Desktop contributors
AppComments=Personalize your home robot arm privately
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user install by default (no admin prompt); the dialog lets an administrator install for everyone.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; torch and Qt in the bundle are 64-bit only.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile={#Root}\resources\icons\prop-desktop.ico
UninstallDisplayIcon={app}\prop-desktop.exe
UninstallDisplayName={#AppName}
OutputDir={#Root}\dist
OutputBaseFilename=prop-desktop-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole PyInstaller one-folder build: prop-desktop.exe (windowed), prop-desktop-cli.exe (console) and _internal\.
Source: "{#Root}\dist\prop-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\prop-desktop.exe"; Comment: "Personalize your home robot arm privately"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\prop-desktop.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\prop-desktop.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; Profiles, keys (Windows Credential Manager) and recordings are user data: the uninstaller leaves them.
