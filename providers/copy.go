package providers

// DeepCopy returns a copy of s sharing no memory with it, so a backend can keep a
// spec without its caller's later changes reaching it (and without changing it).
func (s *InstanceSpec) DeepCopy() *InstanceSpec {
	if s == nil {
		return nil
	}
	c := *s
	if s.Labels != nil {
		c.Labels = make(map[string]string, len(s.Labels))
		for k, v := range s.Labels {
			c.Labels[k] = v
		}
	}
	if s.RegistryCredentials != nil {
		c.RegistryCredentials = append([]RegistryCredential(nil), s.RegistryCredentials...)
	}
	if s.Containers != nil {
		c.Containers = make([]ContainerSpec, len(s.Containers))
		for i, ct := range s.Containers {
			c.Containers[i] = ct.DeepCopy()
		}
	}
	return &c
}

// DeepCopy returns a copy of c sharing no memory with it.
func (c ContainerSpec) DeepCopy() ContainerSpec {
	if c.Command != nil {
		c.Command = append([]string(nil), c.Command...)
	}
	if c.Args != nil {
		c.Args = append([]string(nil), c.Args...)
	}
	if c.Env != nil {
		c.Env = append([]EnvVar(nil), c.Env...)
	}
	if c.Ports != nil {
		c.Ports = append([]Port(nil), c.Ports...)
	}
	return c
}

// DeepCopy returns a copy of s sharing no memory with it.
func (s InstanceStatus) DeepCopy() InstanceStatus {
	if s.Containers != nil {
		s.Containers = append([]ContainerStatus(nil), s.Containers...)
	}
	return s
}
