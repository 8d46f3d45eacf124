package spool

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBlobsKeepOrderAndCopies(t *testing.T) {
	b := New("obslint-test-")
	defer b.Close()
	var want [][]byte
	for i := range 100 {
		p := []byte(fmt.Sprintf("blob %d %s", i, make([]byte, i*37)))
		want = append(want, append([]byte(nil), p...))
		assert.Equal(t, i, b.Add(p))
		p[0] = 'X' // the spool holds its own copy
	}
	assert.Equal(t, 100, b.Len())
	for i, w := range want {
		got, err := b.Get(i)
		require.NoError(t, err)
		assert.Equal(t, w, got)
	}
	require.NotNil(t, b.file, "blobs go to a file")
	empty := b.Add(nil)
	got, err := b.Get(empty)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestBlobsWithoutAFileStayInMemory(t *testing.T) {
	b := New("obslint-test-")
	require.NoError(t, b.Close())
	p := []byte("kept in memory")
	i := b.Add(p)
	p[0] = 'X'
	got, err := b.Get(i)
	require.NoError(t, err)
	assert.Equal(t, "kept in memory", string(got))
	assert.Nil(t, b.file)
}
